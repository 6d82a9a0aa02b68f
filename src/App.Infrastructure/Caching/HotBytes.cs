using System.Diagnostics.Metrics;
using App.Application.Telemetry;

namespace App.Infrastructure.Caching;

/// <summary>The bytes one <see cref="HotEntries{T}"/> holds, summed over all of them by one process-wide gauge.</summary>
internal sealed class HotBytes
{
    public static readonly LiveInstances<HotBytes> Instances = new();
    private static readonly Meter Meter = new(GatewayTelemetry.SourceName);

    static HotBytes() =>
        Meter.CreateObservableGauge(
            "app.gateway.cache.local.size", () => Instances.Current.Sum(b => Interlocked.Read(ref b.Value)), "By", "What the cache entries kept in this instance's memory (Cache:Local) take, as estimated from their text and vectors.");

    public long Value;
}
