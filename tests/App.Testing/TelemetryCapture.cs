using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serilog.Core;
using Serilog.Events;

namespace App.Testing;

/// <summary>
/// Everything the service emits as text, to search for what must not be there: each Serilog event (message, properties,
/// exception; registered as the app's <see cref="ILogEventSink"/>), each span's name, tags, events and status of every
/// activity source, and each metric measurement's label values of every meter in the process.
/// </summary>
public sealed class TelemetryCapture : ILogEventSink, IDisposable
{
    private readonly ConcurrentQueue<(string Where, string Text)> _texts = new();
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();

    public TelemetryCapture()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Record,
        };
        ActivitySource.AddActivityListener(_activities);
        _meters.InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument);
        _meters.SetMeasurementEventCallback<long>((i, _, tags, _) => Record(i, tags));
        _meters.SetMeasurementEventCallback<int>((i, _, tags, _) => Record(i, tags));
        _meters.SetMeasurementEventCallback<double>((i, _, tags, _) => Record(i, tags));
        _meters.Start();
    }

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        _texts.Enqueue(("log", logEvent.RenderMessage() + " | " + string.Join(" | ", logEvent.Properties.Select(p => p.Key + "=" + p.Value)) + " | " + logEvent.Exception));
    }

    /// <summary>Where each text containing <paramref name="value"/> was emitted, after the gauges are read once more.</summary>
    public IReadOnlyList<string> Find(string value)
    {
        _meters.RecordObservableInstruments();
        return [.. _texts.Where(t => t.Text.Contains(value, StringComparison.OrdinalIgnoreCase)).Select(t => $"{t.Where}: {t.Text}")];
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private void Record(Activity activity) => _texts.Enqueue(("span", string.Join(" | ",
        [activity.Source.Name, activity.DisplayName, activity.OperationName, activity.StatusDescription ?? string.Empty,
            .. activity.TagObjects.Select(t => t.Key + "=" + t.Value),
            .. activity.Events.SelectMany(e => e.Tags.Select(t => e.Name + ":" + t.Key + "=" + t.Value).DefaultIfEmpty(e.Name)),
            .. activity.Baggage.Select(b => b.Key + "=" + b.Value)])));

    private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return;
        }

        var labels = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            labels.Add(tag.Key + "=" + tag.Value);
        }

        _texts.Enqueue(("metric", instrument.Meter.Name + "/" + instrument.Name + " " + string.Join(",", labels)));
    }
}
