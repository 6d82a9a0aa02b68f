using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using App.Application.Gateway;
using App.Application.Routing;
using App.Application.Telemetry;
using App.Infrastructure.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace App.Infrastructure.Resilience;

/// <summary>
/// The routes read from <c>Llm:Models</c> at start-up: each alias with its deployments, each deployment with its
/// provider client and resilience pipeline. Circuit state and concurrency are published as gauges.
/// </summary>
internal sealed class ModelRoutes : IModelRoutes, IDisposable
{
    private readonly Dictionary<string, IReadOnlyList<IDeployment>> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly List<ResilientDeployment> _all = [];
    private static readonly Meter Meter = new(GatewayTelemetry.SourceName);
    private static readonly LiveInstances<ModelRoutes> Instances = new();

    private readonly HttpClient _http;
    private readonly IDisposable _registration;
    private bool _disposed;

    static ModelRoutes()
    {
        Meter.CreateObservableGauge(
            "app.gateway.circuit.state",
            () => Instances.Current.SelectMany(r => r.Live).Select(d => new Measurement<int>(StateValue(d.Circuit), new KeyValuePair<string, object?>("app.deployment", d.Id))),
            description: "Circuit state per deployment: 0 closed, 1 open, 2 half-open, 3 isolated.");
        Meter.CreateObservableGauge(
            "app.gateway.deployment.queued",
            () => Instances.Current.SelectMany(r => r.Live).Select(d => new Measurement<long>(d.Concurrency?.CurrentQueuedCount ?? 0, new KeyValuePair<string, object?>("app.deployment", d.Id))),
            description: "Requests waiting for a concurrency slot per deployment.");
    }

    public ModelRoutes(IOptions<LlmOptions> options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        // One long-lived client for all upstreams; connections are recycled so DNS changes are picked up.
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.All,
            // An API call is never redirected: HttpClient would replay a POST as a GET after a 301 or 302, and the
            // upstream is what the configuration names, not where it points. A 3xx is an error naming the base URL.
            AllowAutoRedirect = false,
            EnableMultipleHttp2Connections = true,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the resilience pipeline owns time limits
        };

        var llm = options.Value;
        foreach (var (alias, route) in llm.Models.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var deployments = new List<IDeployment>(route.Deployments.Count);
            for (var i = 0; i < route.Deployments.Count; i++)
            {
                var d = route.Deployments[i];
                var settings = (d.Resilience ?? new ResilienceOptions()).Resolve(llm.Resilience);
                IChatClient client = d.Provider switch
                {
                    ProviderKinds.OpenAi => new OpenAiCompatibleChatClient(_http, d, time),
                    _ => new OfflineChatClient(d.Model, TimeSpan.FromMilliseconds(d.TokenDelayMs), time),
                };
                var deployment = new ResilientDeployment(string.Create(CultureInfo.InvariantCulture, $"{alias}/{i}"), d, settings, client, time, loggerFactory);
                deployments.Add(deployment);
                _all.Add(deployment);
            }

            _routes[alias] = deployments;
            _owners[alias] = route.OwnedBy ?? (route.Deployments.FirstOrDefault()?.Provider == ProviderKinds.Offline ? "app-offline" : "app");
        }

        _registration = Instances.Add(this);
    }

    public IReadOnlyCollection<string> Aliases => _routes.Keys;

    // Gauges may be read while the host shuts down: report nothing rather than touch disposed limiters.
    private IEnumerable<ResilientDeployment> Live => Volatile.Read(ref _disposed) ? [] : _all;

    public IReadOnlyList<ResilientDeployment> Deployments => _all;

    /// <summary>The one client every upstream is called through (the embedding routes use it too).</summary>
    public HttpClient Http => _http;

    public string OwnedBy(string modelAlias) => _owners.GetValueOrDefault(modelAlias, "app");

    public bool TryGetRoute(string modelAlias, out IReadOnlyList<IDeployment> deployments) =>
        _routes.TryGetValue(modelAlias, out deployments!);

    public IEnumerable<(string Alias, IReadOnlyList<IDeployment> Deployments)> Routes =>
        _routes.Select(kv => (kv.Key, kv.Value));

    private static int StateValue(CircuitState state) => state switch
    {
        CircuitState.Closed => 0,
        CircuitState.Open => 1,
        CircuitState.HalfOpen => 2,
        _ => 3,
    };

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _registration.Dispose();
        foreach (var d in _all)
        {
            d.Dispose();
        }

        _http.Dispose();
    }
}
