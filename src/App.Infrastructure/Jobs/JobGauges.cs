using System.Diagnostics.Metrics;
using App.Application.Telemetry;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>
/// <c>app.jobs.queued</c>, the jobs accepted and waiting for a worker (the same figure from every instance: the queue
/// is shared), and <c>app.jobs.running</c>, the jobs this instance's workers run.
/// </summary>
internal sealed class JobGauges : IDisposable
{
    private readonly Meter _meter = new(GatewayTelemetry.SourceName);

    public JobGauges(JobDelivery delivery, Func<int> running)
    {
        _meter.CreateObservableGauge("app.jobs.queued", () => Waiting(delivery), "{job}", "Jobs accepted and waiting for a worker: on the stream and not yet taken, or waiting for a retry.");
        _meter.CreateObservableGauge("app.jobs.running", running, "{job}", "Jobs being run by this instance's workers.");
    }

    public void Dispose() => _meter.Dispose();

    // Read when metrics are collected; with Redis away there is no figure rather than a wrong one.
    private static IEnumerable<Measurement<long>> Waiting(JobDelivery delivery)
    {
        long waiting;
        try
        {
            waiting = delivery.CountWaiting();
        }
        catch (RedisException)
        {
            return [];
        }

        return [new Measurement<long>(waiting)];
    }
}
