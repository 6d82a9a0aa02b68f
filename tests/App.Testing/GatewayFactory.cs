using System.Net.Http.Headers;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace App.Testing;

/// <summary>
/// The real app in-process (TestServer, or Kestrel on loopback), wired to a real Redis and PostgreSQL and to
/// whatever upstreams the test configures. Settings use the configuration keys of docs/configuration.md, so a
/// test reads like a deployment. <see cref="CreateClientFor"/> gives a client whose requests carry an access token
/// minted by the app's own issuer for the given tenant, user and scopes.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    public const string TestEncryptionKey = "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LTMyYiE=";
    private readonly string _redisConnectionString;
    private readonly TestDatabase _database;
    private readonly IReadOnlyDictionary<string, string?>? _settings;

    /// <param name="redisConnectionString">The Redis the app uses.</param>
    /// <param name="database">The migrated database the app uses (as the runtime role).</param>
    /// <param name="settings">Configuration on top of appsettings.json.</param>
    /// <param name="kestrel">Serve over a real loopback socket instead of the in-memory test server.</param>
    public GatewayFactory(string redisConnectionString, TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, bool kestrel = false)
    {
        _redisConnectionString = redisConnectionString;
        _database = database;
        _settings = settings;
        if (kestrel)
        {
            UseKestrel(0);
        }
    }

    /// <summary>The hosting environment the app runs in ("Testing" unless a test needs another).</summary>
    public string EnvironmentName { get; init; } = "Testing";

    /// <summary>Services added after the app's own (for example a log sink the app reads from the container).</summary>
    public Action<IServiceCollection>? ExtraServices { get; init; }

    /// <summary>
    /// A client whose every request carries a fresh access token for this caller, and whose every <c>/v1</c> answer is
    /// held to the wire contracts (<see cref="ContractCheckingHandler"/>).
    /// </summary>
    public HttpClient CreateClientFor(string tenant, string user = "user-1", params string[] scopes)
    {
        var granted = scopes.Length == 0 ? [Scopes.ChatInvoke] : scopes;
        return CreateDefaultClient(new ContractCheckingHandler(), new BearerTokenHandler(() => MintToken(tenant, user, granted)));
    }

    /// <summary>An access token from the app's own issuer (a real ES256 token from the real key ring).</summary>
    public string MintToken(string tenant, string user, IReadOnlyList<string> scopes, string? session = null) =>
        Services.GetRequiredService<AccessTokenIssuer>().Issue(new TokenSubject(user, tenant, scopes, session ?? "test-" + Guid.NewGuid().ToString("N")[..12])).Token;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment(EnvironmentName);
        var merged = Configuration();
        // Host settings are seen by Program's code before the host is built (what it reads from builder.Configuration,
        // such as whether to build the OpenTelemetry pipelines); the app configuration source, added last, wins over
        // appsettings.json as a deployment's environment would.
        foreach (var (key, value) in merged)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(merged));
        if (ExtraServices is not null)
        {
            builder.ConfigureTestServices(ExtraServices);
        }
    }

    /// <summary>The configuration this app runs with (on top of appsettings.json), e.g. to start a worker process like it.</summary>
    public Dictionary<string, string?> Configuration()
    {
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Redis:ConnectionString"] = _redisConnectionString,
            ["ConnectionStrings:Postgres"] = _database.Runtime,
            ["ConnectionStrings:PostgresMigrations"] = _database.Owner,
            ["Database:MigrateOnStart"] = "false",
            // Many hosts run in one test process: the management listener is turned on only by the tests about it.
            ["Management:Urls"] = string.Empty,
            // Ready at once: a warm-up per host would cost every test seconds (the warm-up's own tests turn it on).
            ["WarmUp:Enabled"] = "false",
            // Many hosts share one PostgreSQL on two cores in a run: the production timeouts, which DatabaseStallTests
            // measures, would turn its busy moments into 503s in tests about something else.
            ["Database:ConnectTimeout"] = "00:00:10",
            ["Database:CommandTimeout"] = "00:00:15",
            ["Encryption:ActiveKey"] = "test-1",
            ["Encryption:Keys:test-1"] = TestEncryptionKey,
            ["Auth:Issuer"] = "http://localhost",
            ["Auth:RateLimitPerMinute"] = "10000",
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Logging:Json"] = "false",
        };
        foreach (var (key, value) in _settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return merged;
    }

    private sealed class BearerTokenHandler(Func<string> mint) : DelegatingHandler
    {
        private string? _token;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization ??= new AuthenticationHeaderValue("Bearer", _token ??= mint());
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>Builds configuration for model routes, in the shape of <c>Llm:Models:&lt;alias&gt;:Deployments:&lt;n&gt;</c>.</summary>
public sealed class Settings : Dictionary<string, string?>
{
    public Settings()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    public Settings Route(string alias, params Deployment[] deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        for (var i = 0; i < deployments.Length; i++)
        {
            var prefix = $"Llm:Models:{alias}:Deployments:{i}:";
            var d = deployments[i];
            this[prefix + "Provider"] = d.Provider;
            this[prefix + "Model"] = d.Model;
            if (d.BaseUrl is not null)
            {
                this[prefix + "BaseUrl"] = d.BaseUrl.ToString();
                this[prefix + "ApiKey"] = "sk-test-" + alias;
            }

            foreach (var (key, value) in d.Resilience)
            {
                this[prefix + "Resilience:" + key] = value;
            }
        }

        return this;
    }

    public Settings With(string key, string? value)
    {
        this[key] = value;
        return this;
    }
}

public sealed record Deployment(string Provider, string Model, Uri? BaseUrl = null)
{
    public Dictionary<string, string> Resilience { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static Deployment Offline(string model = "offline-1") => new("offline", model);

    public static Deployment OpenAi(Uri baseUrl, string model) => new("openai", model, baseUrl);

    public Deployment With(string resilienceKey, string value)
    {
        Resilience[resilienceKey] = value;
        return this;
    }
}
