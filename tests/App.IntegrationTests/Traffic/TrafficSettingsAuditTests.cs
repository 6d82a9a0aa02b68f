using App.Application.Audit;
using App.Application.Traffic;
using App.Infrastructure.Audit;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Budgets and limits are configuration; each change reaches the audit trail once, however many instances start
/// with it, a reload of the configuration is recorded like a restart, and a tenant whose own settings are removed is
/// recorded as back on the defaults.
/// </summary>
public sealed class TrafficSettingsAuditTests
{
    private readonly string _tenant = "budget-" + Guid.NewGuid().ToString("N")[..10];

    private Settings Budget(string monthlyCost) => new Settings()
        .With($"Traffic:Tenants:{_tenant}:Budgets:MonthlyCost", monthlyCost)
        .With($"Traffic:Tenants:{_tenant}:RateLimits:RequestsPerMinute", "30");

    /// <summary>
    /// An instance on a database of this class's own: every instance records its settings as it starts, and other
    /// tests' instances, configured otherwise, would record theirs in the same chains.
    /// </summary>
    private static async Task<GatewayFactory> StartAsync(Settings settings)
    {
        var factory = new GatewayFactory((await SharedServers.RedisAsync()).ConnectionString, await Databases.OwnAsync(nameof(TrafficSettingsAuditTests)), settings);
        factory.CreateClient().Dispose();
        return factory;
    }

    private static Task<List<AuditEntry>> EntriesAsync(GatewayFactory factory, string tenant, string kind) =>
        factory.Services.GetRequiredService<TenantData>().ReadAsync(tenant, db => db.AuditEntries.AsNoTracking().Where(e => e.Kind == kind).OrderBy(e => e.Sequence).ToListAsync(), CancellationToken.None);

    /// <summary>The tenant's budget events, once there are at least <paramref name="count"/> (recording runs as the app starts).</summary>
    private async Task<List<AuditEntry>> BudgetEventsAsync(GatewayFactory factory, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var entries = await EntriesAsync(factory, _tenant, AuditKinds.BudgetChanged);
            if (entries.Count >= count || DateTime.UtcNow > deadline)
            {
                return entries;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ATenantsBudgetChangeIsRecordedOnceInItsChainWhateverTheInstances()
    {
        await using (var first = await StartAsync(Budget("5")))
        await using (var second = await StartAsync(Budget("5")))
        {
            var recorded = Assert.Single(await BudgetEventsAsync(first, 1));
            Assert.Equal(TrafficSettingsAudit.Actor, recorded.Actor);
            Assert.Contains("\"MonthlyCost\":5", recorded.Data, StringComparison.Ordinal);
            Assert.Contains("\"RequestsPerMinute\":30", recorded.Data, StringComparison.Ordinal);

            // Recording the same settings again, from either instance, adds nothing.
            foreach (var factory in new[] { first, second })
            {
                await factory.Services.GetRequiredService<TrafficSettingsAudit>().RecordAsync(factory.Services.GetRequiredService<IOptionsMonitor<TrafficOptions>>().CurrentValue, CancellationToken.None);
            }

            Assert.Single(await EntriesAsync(first, _tenant, AuditKinds.BudgetChanged));
        }

        // A deployment with another budget: recorded as it starts.
        await using var third = await StartAsync(Budget("50"));
        var events = await BudgetEventsAsync(third, 2);
        Assert.Equal(2, events.Count);
        Assert.Contains("\"MonthlyCost\":50", events[1].Data, StringComparison.Ordinal);

        // A reload of the configuration, no restart: recorded too.
        var configuration = (IConfigurationRoot)third.Services.GetRequiredService<IConfiguration>();
        configuration[$"Traffic:Tenants:{_tenant}:Budgets:MonthlyCost"] = "70";
        configuration.Reload();
        events = await BudgetEventsAsync(third, 3);
        Assert.Equal(3, events.Count);
        Assert.Contains("\"MonthlyCost\":70", events[2].Data, StringComparison.Ordinal);

        // A deployment without the tenant's own settings: its chain says it is back on the defaults.
        await using (var fourth = await StartAsync(new Settings()))
        {
            events = await BudgetEventsAsync(fourth, 4);
            Assert.Equal(4, events.Count);
            Assert.Equal("{\"rateLimits\":null,\"budgets\":null}", events[3].Data);
        }

        var audit = third.Services.GetRequiredService<AuditLog>();
        Assert.True((await audit.VerifyAsync(_tenant, CancellationToken.None)).Ok);

        // The defaults are in the system chain, with digests of the prices and of every tenant's own settings.
        var defaults = await EntriesAsync(third, AuditKinds.SystemTenant, AuditKinds.TrafficDefaultsChanged);
        Assert.NotEmpty(defaults);
        Assert.All(defaults, e => Assert.Matches("\"tenantSettings\":\"sha256:[0-9a-f]{64}\"", e.Data));
        Assert.Contains($"\"tenantIds\":[\"{_tenant}\"]", defaults[^2].Data, StringComparison.Ordinal);
        Assert.True((await audit.VerifyAsync(AuditKinds.SystemTenant, CancellationToken.None)).Ok);
    }
}
