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
    private static readonly Meter Meter = new(GatewayTelemetry.SourceName);
    private static readonly LiveInstances<JobGauges> Live = new();

    private readonly JobDelivery _delivery;
    private readonly Func<int> _running;
    private readonly IDisposable _registration;

    static JobGauges()
    {
        Meter.CreateObservableGauge("app.jobs.queued", () => Live.Current.SelectMany(g => Waiting(g._delivery)), "{job}", "Jobs accepted and waiting for a worker: on the stream and not yet taken, or waiting for a retry.");
        Meter.CreateObservableGauge("app.jobs.running", () => Live.Current.Sum(g => g._running()), "{job}", "Jobs being run by this instance's workers.");
    }

    public JobGauges(JobDelivery delivery, Func<int> running)
    {
        _delivery = delivery;
        _running = running;
        _registration = Live.Add(this);
    }

    public void Dispose() => _registration.Dispose();

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
