using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using App.Application.Audit;
using App.Application.Traffic;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Audit;

/// <summary>
/// Budgets and rate limits are configuration, so a change to them is a deployment or a reload, not an API call.
/// This records each change in the audit trail as the service starts and whenever the configuration reloads: a
/// tenant's own settings (<c>Traffic:Tenants:&lt;id&gt;</c>) in that tenant's chain as <c>budget.changed</c>, and the
/// defaults, with digests of the price table and of every tenant's own settings, in the <c>_system</c> chain as
/// <c>traffic.defaults_changed</c>. An event is appended only when it differs from the last of its kind, under the
/// chain's lock, so instances starting together record a change once. A tenant whose own settings were removed is
/// back on the defaults: its chain records own settings of null, found from the tenants the last defaults named
/// (while that list fits in an audit entry; beyond it, only the digest in <c>_system</c> shows the change).
/// </summary>
public sealed partial class TrafficSettingsAudit(
    IOptionsMonitor<TrafficOptions> options,
    AuditLog audit,
    ILogger<TrafficSettingsAudit> logger) : BackgroundService
{
    public const string Actor = "configuration";

    // The audit data column holds 4,000 characters; settings larger than this are recorded by digest.
    private const int MaxRecorded = 3_500;

    // Of which the list of tenants with settings of their own may take this much; a longer one is left out.
    private const int MaxTenantList = 2_000;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(30);

    /// <summary>Records the settings as they are; returns the number of events appended.</summary>
    public async Task<int> RecordAsync(TrafficOptions settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var tenants = new SortedDictionary<string, TenantTraffic>(settings.Tenants, StringComparer.Ordinal);
        var ids = new JsonArray([.. tenants.Keys.Select(id => JsonValue.Create(id))]);
        var defaults = new JsonObject
        {
            ["enabled"] = settings.Enabled,
            ["rateLimits"] = Canonical(settings.RateLimits),
            ["budgets"] = Canonical(settings.Budgets),
            ["prices"] = Digest(Canonical(settings.Prices)),
            ["tenants"] = tenants.Count,
            ["tenantSettings"] = Digest(Canonical(tenants)),
        };

        // The tenants with settings of their own are named while they fit, so that one whose settings are removed
        // can be told, in its own chain, that it is back on the defaults.
        if (ids.ToJsonString().Length <= MaxTenantList)
        {
            defaults["tenantIds"] = ids;
        }

        var appended = 0;
        foreach (var gone in await PreviouslyListedAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!tenants.ContainsKey(gone))
            {
                appended += await audit.AppendIfChangedAsync(gone, AuditKinds.BudgetChanged, Actor, OwnSettings(null), cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
        }

        appended += await audit.AppendIfChangedAsync(AuditKinds.SystemTenant, AuditKinds.TrafficDefaultsChanged, Actor, Bounded(defaults), cancellationToken).ConfigureAwait(false) ? 1 : 0;
        foreach (var (tenant, own) in tenants)
        {
            appended += await audit.AppendIfChangedAsync(tenant, AuditKinds.BudgetChanged, Actor, Bounded(OwnSettings(own)), cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        return appended;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var subscription = options.OnChange(_ => changed.Writer.TryWrite(true));
        changed.Writer.TryWrite(true);
        try
        {
            await foreach (var _ in changed.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                while (true)
                {
                    try
                    {
                        var appended = await RecordAsync(options.CurrentValue, stoppingToken).ConfigureAwait(false);
                        if (appended > 0)
                        {
                            LogRecorded(appended);
                        }

                        break;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The database may not be up yet: the settings are recorded once it is.
                        LogFailed(ex);
                        await Task.Delay(Retry, stoppingToken).ConfigureAwait(false);
                    }
                }

                // One edit reloads configuration several times: record the settled result.
                await Task.Delay(Settle, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A tenant's own settings as recorded; null (both null) when it has none and the defaults apply.</summary>
    private static JsonObject OwnSettings(TenantTraffic? own) =>
        new() { ["rateLimits"] = Canonical(own?.RateLimits), ["budgets"] = Canonical(own?.Budgets) };

    /// <summary>The tenants the last recorded defaults named as having settings of their own.</summary>
    private async Task<IReadOnlyList<string>> PreviouslyListedAsync(CancellationToken cancellationToken)
    {
        var last = await audit.LastDataAsync(AuditKinds.SystemTenant, AuditKinds.TrafficDefaultsChanged, cancellationToken).ConfigureAwait(false);
        return last is not null && JsonNode.Parse(last) is JsonObject o && o["tenantIds"] is JsonArray listed
            ? [.. listed.Select(n => n?.GetValue<string>()).OfType<string>()]
            : [];
    }

    /// <summary>The value as JSON with every object's members in ordinal order, so equal settings read alike.</summary>
    private static JsonNode? Canonical<T>(T value) => Sorted(JsonSerializer.SerializeToNode(value));

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        null => null,
        _ => node.DeepClone(),
    };

    private static string Digest(JsonNode? node) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null")));

    private static JsonObject Bounded(JsonObject value) =>
        value.ToJsonString().Length <= MaxRecorded ? value : new JsonObject { ["digest"] = Digest(value) };

    [LoggerMessage(EventId = 1410, Level = LogLevel.Information, Message = "Traffic settings changed: {Count} audit events recorded")]
    private partial void LogRecorded(int count);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Warning, Message = "Traffic settings could not be recorded in the audit trail yet; retrying")]
    private partial void LogFailed(Exception exception);
}
