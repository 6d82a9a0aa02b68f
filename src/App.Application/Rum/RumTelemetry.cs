using System.Diagnostics.Metrics;
using App.Application.Telemetry;

namespace App.Application.Rum;

/// <summary>
/// What real users' browsers measured, one histogram per metric with no attributes: a beacon is anonymous, and a
/// page or tenant attribute would let any client grow the series without bound. Bucket edges include the
/// web-vitals thresholds between good, needs improvement and poor.
/// </summary>
public static class RumTelemetry
{
    public const string MeterName = MeterNames.Rum;

    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> LargestContentfulPaint = Meter.CreateHistogram<double>(
        "app.rum.lcp", "s", "Largest Contentful Paint of the page as real users' browsers measured it.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60] });

    public static readonly Histogram<double> InteractionToNextPaint = Meter.CreateHistogram<double>(
        "app.rum.inp", "s", "Interaction to Next Paint (a page view's worst interaction, or a high percentile on busy pages) as real users' browsers measured it.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.016, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 60] });

    public static readonly Histogram<double> CumulativeLayoutShift = Meter.CreateHistogram<double>(
        "app.rum.cls", "1", "Cumulative Layout Shift (the largest session window of shifts) as real users' browsers measured it.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 10] });

    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>(
        "app.rum.ttft", "s", "Time from sending a chat message on the page to its first streamed token on screen.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 7.5, 10, 20, 30, 60] });

    /// <summary>Records every metric the beacon carries, converting the browser's milliseconds to seconds.</summary>
    public static void Record(RumBeacon beacon)
    {
        ArgumentNullException.ThrowIfNull(beacon);
        if (beacon.Lcp is { } lcp)
        {
            LargestContentfulPaint.Record(lcp / 1000);
        }

        if (beacon.Inp is { } inp)
        {
            InteractionToNextPaint.Record(inp / 1000);
        }

        if (beacon.Cls is { } cls)
        {
            CumulativeLayoutShift.Record(cls);
        }

        if (beacon.Ttft is { } ttft)
        {
            TimeToFirstToken.Record(ttft / 1000);
        }
    }
}
