using App.Application.Traffic;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The <c>tenant</c> label of the spend, token and budget metrics, bounded so that a service with many tenants does
/// not give Prometheus a series per tenant: tenants named in <c>Traffic:Tenants</c> keep their own, and so do the first
/// <c>Traffic:MetricTenants</c> others this instance sees; any tenant after them is <see cref="Other"/>. A tenant keeps
/// the label it got for the life of the process, because a counter whose label changed would read as a reset.
/// </summary>
internal sealed class TenantLabels(IOptionsMonitor<TrafficOptions> options)
{
    public const string Other = "other";

    private readonly Lock _gate = new();
    private readonly HashSet<string> _labelled = new(StringComparer.Ordinal);
    private volatile bool _full;

    public string For(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var settings = options.CurrentValue;
        if (settings.Tenants.ContainsKey(tenant))
        {
            return tenant;
        }

        lock (_gate)
        {
            if (_labelled.Contains(tenant))
            {
                return tenant;
            }

            if (_full || _labelled.Count >= settings.MetricTenants)
            {
                _full = true;
                return Other;
            }

            _labelled.Add(tenant);
            return tenant;
        }
    }
}
