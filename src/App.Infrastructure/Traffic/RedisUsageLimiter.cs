using App.Application.Traffic;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// Rate limits and budgets in Redis, each decision one atomic script, so any number of instances sharing the
/// Redis enforce one limit. Limits are sliding windows of one minute (the previous minute's count weighted by how
/// much of it still overlaps the last minute, plus this minute's); budgets are per UTC day and month (<see cref="UsageKeys"/>).
/// A facade over the admissions (<see cref="Admitter"/>, with the callers and leases of <see cref="LeaseTable"/>),
/// the group-committed settlements (<see cref="SettlementBatcher"/>) and the budget gauge (<see cref="BudgetGauge"/>).
/// </summary>
internal sealed class RedisUsageLimiter : IUsageLimiter, IHostedService, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly IOptionsMonitor<TrafficOptions> _options;
    private readonly TimeProvider _time;
    private readonly BudgetGauge _gauge = new();
    private readonly LeaseTable _leases;
    private readonly Admitter _admitter;
    private readonly SettlementBatcher _settlements;

    public RedisUsageLimiter(IConnectionMultiplexer redis, IOptionsMonitor<TrafficOptions> options, TimeProvider time, ILogger<RedisUsageLimiter> logger)
    {
        _redis = redis;
        _options = options;
        _time = time;
        var failures = new LimiterFailures(logger, options, time);
        _leases = new LeaseTable(redis, time, options.CurrentValue.LeaseTime, failures);
        _admitter = new Admitter(redis, options, time, _leases, failures);
        _settlements = new SettlementBatcher(redis, options, _gauge, new TenantLabels(options), failures);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Gives back every lease still held while Redis is still there (see <see cref="LeaseTable.StopAsync"/>).</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _leases.StopAsync(cancellationToken);

    public void Dispose()
    {
        _leases.Dispose();
        _gauge.Dispose();
    }

    public ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken) =>
        _admitter.AdmitAsync(caller, model, estimatedTokens, cancellationToken);

    public bool HasHeadroom(UsageCaller caller, string model) => _admitter.HasHeadroom(caller, model);

    public ValueTask SettleAsync(Admission admission, CallUsage usage)
    {
        ArgumentNullException.ThrowIfNull(admission);
        return admission.Reserved is { } reserved
            ? _settlements.SendAsync(Settlement.For(reserved, usage, _options.CurrentValue))
            : ValueTask.CompletedTask;
    }

    public async Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var budgets = _options.CurrentValue.BudgetsFor(tenant);
        var (dayKey, monthKey) = UsageKeys.Budget(tenant, now);
        var db = _redis.GetDatabase();
        var dayTask = db.HashGetAllAsync(dayKey);
        var monthTask = db.HashGetAllAsync(monthKey);
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var (dayEnd, monthEnd) = UsageKeys.PeriodEnds(now);
        return new UsageReport(
            tenant,
            Period("day", dayStart, dayEnd, await dayTask.ConfigureAwait(false), budgets.DailyTokens, budgets.DailyCost),
            Period("month", monthStart, monthEnd, await monthTask.ConfigureAwait(false), budgets.MonthlyTokens, budgets.MonthlyCost));
    }

    private static UsagePeriod Period(string name, DateTimeOffset start, DateTimeOffset end, HashEntry[] entries, long? tokenBudget, decimal? costBudget)
    {
        long Get(string field) => entries.FirstOrDefault(e => e.Name == field).Value is { IsNull: false } v ? (long)v : 0;
        return new UsagePeriod(name, start, end, Get("requests"), Get("input"), Get("output"), Get("cached"), Get("cost") / 1_000_000_000m, tokenBudget, costBudget);
    }
}
