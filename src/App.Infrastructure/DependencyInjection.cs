using App.Application.Audit;
using App.Application.Caching;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.Identity;
using App.Application.Jobs;
using App.Application.Prompts;
using App.Application.Routing;
using App.Application.Telemetry;
using App.Application.Traces;
using App.Infrastructure.Audit;
using App.Infrastructure.Caching;
using App.Infrastructure.Health;
using App.Infrastructure.Identity;
using App.Infrastructure.Jobs;
using App.Infrastructure.Persistence;
using App.Infrastructure.Prompts;
using App.Infrastructure.Resilience;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Infrastructure.Traffic;
using Fido2NetLib;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace App.Infrastructure;

/// <summary><c>Redis</c>: the connection the cache (and later rate limits and jobs) use.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379,password=...</c>.</summary>
    public string ConnectionString { get; init; } = "127.0.0.1:6379";

    /// <summary>How long one Redis command may take before it counts as failed (and the request goes on without it).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMilliseconds(500);
}

public static class DependencyInjection
{
    public static IHostApplicationBuilder AddInfrastructure(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddTimeProvider();

        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.Section)
            .Validate(o => o.Ttl > TimeSpan.Zero, "Cache:Ttl must be positive.")
            .Validate(o => o.MaxEntryBytes > 0, "Cache:MaxEntryBytes must be positive.")
            .Validate(o => !string.IsNullOrEmpty(o.KeyPrefix), "Cache:KeyPrefix must not be empty.")
            .Validate(o => o.Local.Ttl >= TimeSpan.FromMilliseconds(10) && o.Local.Ttl <= TimeSpan.FromHours(1), "Cache:Local:Ttl must be between 10 ms and 1 hour.")
            .Validate(o => o.Local.MaxBytes is >= 0 and <= 16L * 1024 * 1024 * 1024, "Cache:Local:MaxBytes must be between 0 and 16 GiB.")
            .ValidateOnStart();
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "Redis:ConnectionString is required.")
            .Validate(o => o.CommandTimeout > TimeSpan.Zero, "Redis:CommandTimeout must be positive.")
            .ValidateOnStart();

        services.AddSingleton<IConnectionMultiplexer>(sp => ConnectRedis(sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        services.AddSingleton<ModelRoutes>();
        services.AddSingleton<IModelRoutes>(sp => sp.GetRequiredService<ModelRoutes>());
        services.AddHostedService<RoutesWarmup>();
        services.AddSingleton<RedisResponseCache>();
        services.AddSingleton<IResponseCache>(sp => ActivatorUtilities.CreateInstance<LocalFirstResponseCache>(sp, sp.GetRequiredService<RedisResponseCache>()));
        services.AddTraffic();
        services.AddSingleton<ChatGateway>();
        services.AddSingleton<ChatCalls>();
        services.AddOptions<GuardOptions>().BindConfiguration(GuardOptions.Section).ValidateOnStart();
        var contentRoot = builder.Environment.ContentRootPath;
        services.AddSingleton(sp =>
        {
            var file = Path.Combine(contentRoot, sp.GetRequiredService<IOptions<GuardOptions>>().Value.RulesFile);
            return InputGuard.Load(File.Exists(file) ? File.ReadAllText(file) : throw new FileNotFoundException($"Guard:RulesFile '{file}' does not exist.", file));
        });
        services.AddSingleton<GuardPolicy>();
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section)
            .Validate(o => o.RepairAttempts is 0 or 1, "Prompts:RepairAttempts must be 0 or 1.")
            .Validate(o => o.RenderCacheSize >= 1, "Prompts:RenderCacheSize must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<IPromptCatalog>(sp =>
            PromptCatalog.LoadAsync(Path.Combine(contentRoot, sp.GetRequiredService<IOptions<PromptOptions>>().Value.Directory)).GetAwaiter().GetResult());
        services.AddSingleton<PromptRunner>();
        services.AddJobs();

        // Read when first used, not now: configuration can still change until the host is built (tests, hosting).
        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Apply(
            sp.GetRequiredService<IConfiguration>().GetConnectionString("Postgres") is { Length: > 0 } postgres
                ? postgres
                : throw new InvalidOperationException("ConnectionStrings:Postgres is not set: the service needs PostgreSQL."))));
        services.AddSingleton<DatabaseOutage>();
        // Not pooled: a context carries its tenant, and a pooled one could hand it to the next unit of work.
        services.AddDbContextFactory<AppDbContext>((sp, o) => Database.Configure(o, sp.GetRequiredService<NpgsqlDataSource>()), ServiceLifetime.Singleton);
        services.AddSingleton<TenantData>();
        services.AddOptions<TraceOptions>().BindConfiguration(TraceOptions.Section)
            .Validate(o => o.QueueCapacity is >= 1 and <= 10_000_000 && o.BatchSize >= 1 && o.MaxContentChars >= 0, "Traces:QueueCapacity must be between 1 and 10000000, BatchSize positive, MaxContentChars not negative.")
            .Validate(o => o.FlushInterval >= TimeSpan.FromMilliseconds(10), "Traces:FlushInterval must be at least 10 ms.")
            .ValidateOnStart();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section)
            .Validate(o => o.CheckpointInterval >= TimeSpan.FromSeconds(1), "Audit:CheckpointInterval must be at least 00:00:01.")
            .ValidateOnStart();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<AuditLog>());
        services.AddHostedService<AuditCheckpointer>();
        services.AddSingleton<TraceWriter>();
        services.AddSingleton<ITraceSink>(sp => sp.GetRequiredService<TraceWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<TraceWriter>());
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section)
            .Validate(o => o.ConnectTimeout >= TimeSpan.FromSeconds(1) && o.CommandTimeout >= TimeSpan.FromSeconds(1), "Database:ConnectTimeout and Database:CommandTimeout must be at least 00:00:01.")
            .ValidateOnStart();
        // Hosted services start in this order: the schema, then the signing keys, then the routes.
        services.AddHostedService<DatabaseMigrator>();
        // Budgets and limits are configuration: their changes go to the audit trail once the schema is there.
        services.AddSingleton<TrafficSettingsAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<TrafficSettingsAudit>());
        services.AddIdentityServices();

        services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: ["ready"])
            .AddCheck<CircuitHealthCheck>("circuits", tags: ["ready"])
            .AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);

        builder.AddTelemetry();
        return builder;
    }

    private static void AddIdentityServices(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<EncryptionOptions>().BindConfiguration(EncryptionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EncryptionOptions>, EncryptionOptionsValidator>();
        services.AddSingleton<KeyEncryption>();
        services.AddSingleton<SigningKeyRing>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<RevocationList>();
        services.AddSingleton<Sessions>();
        services.AddSingleton<Invitations>();
        services.AddOptions<PasskeyOptions>().BindConfiguration(PasskeyOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.RelyingPartyId), "Passkeys:RelyingPartyId is required.")
            .Validate(o => o.Origins.Count > 0 && o.Origins.All(x => Uri.TryCreate(x, UriKind.Absolute, out _)), "Passkeys:Origins must list absolute origins.")
            .Validate(o => o.CeremonyTimeout >= TimeSpan.FromSeconds(30) && o.CeremonyTimeout <= TimeSpan.FromMinutes(10), "Passkeys:CeremonyTimeout must be between 00:00:30 and 00:10:00.")
            .ValidateOnStart();
        services.AddSingleton<IFido2>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<PasskeyOptions>>().Value;
            return new Fido2NetLib.Fido2(new Fido2NetLib.Fido2Configuration
            {
                RPID = o.RelyingPartyId,
                RPName = o.RelyingPartyName,
                Origins = o.Origins.ToHashSet(StringComparer.Ordinal),
                ChallengeSize = 32,
                Timeout = (uint)o.CeremonyTimeout.TotalMilliseconds,
            });
        });
        services.AddSingleton<Passkeys>();
        services.AddHostedService<SigningKeyMaintenance>();
    }

    private static void AddJobs(this IServiceCollection services)
    {
        services.AddOptions<JobOptions>().BindConfiguration(JobOptions.Section)
            .Validate(o => o.Concurrency is >= 1 and <= 256, "Jobs:Concurrency must be between 1 and 256.")
            .Validate(o => o.MaxAttempts is >= 1 and <= 100, "Jobs:MaxAttempts must be between 1 and 100.")
            .Validate(o => o.MaxBatchSize is >= 1 and <= 10_000, "Jobs:MaxBatchSize must be between 1 and 10000.")
            .Validate(o => o.VisibilityTimeout >= TimeSpan.FromSeconds(1), "Jobs:VisibilityTimeout must be at least 00:00:01.")
            .Validate(o => o.StaleAfter >= o.VisibilityTimeout, "Jobs:StaleAfter must be at least Jobs:VisibilityTimeout.")
            .Validate(o => o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay, "Jobs:RetryBaseDelay must be positive and at most Jobs:RetryMaxDelay.")
            .Validate(o => o.PollInterval >= TimeSpan.FromMilliseconds(10) && o.EventsInterval >= TimeSpan.FromMilliseconds(10), "Jobs:PollInterval and Jobs:EventsInterval must be at least 10 ms.")
            .Validate(o => o.IdlePollInterval >= o.PollInterval && o.IdlePollInterval <= TimeSpan.FromMinutes(1), "Jobs:IdlePollInterval must be between Jobs:PollInterval and 1 minute.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.StreamKey), "Jobs:StreamKey is required.")
            .ValidateOnStart();
        services.TryAddSingleton(new ProcessRole());
        services.AddSingleton<App.Infrastructure.Idempotency.IdempotencyStore>();
        services.AddSingleton<JobDelivery>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService<JobWorker>();
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    internal static ConnectionMultiplexer ConnectRedis(RedisOptions options)
    {
        var config = ConfigurationOptions.Parse(options.ConnectionString);
        // Start and keep running without Redis; reconnect in the background.
        config.AbortOnConnectFail = false;
        // While disconnected, fail commands at once instead of queueing them behind the outage.
        config.BacklogPolicy = BacklogPolicy.FailFast;
        config.AsyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        config.SyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        config.ConnectTimeout = Math.Max(1000, config.ConnectTimeout == 0 ? 2000 : Math.Min(config.ConnectTimeout, 5000));
        config.ConnectRetry = 1;
        config.ReconnectRetryPolicy = new LinearRetry(500);
        config.ClientName ??= "app-api";
        return ConnectionMultiplexer.Connect(config);
    }

    private static void AddTelemetry(this IHostApplicationBuilder builder)
    {
        // The SDK's pipelines record a span per request and per upstream call and aggregate every histogram: work on
        // each request that only pays off when something reads it. They run when a collector is configured with
        // OTEL_EXPORTER_OTLP_ENDPOINT (the standard variable). Without one, requests still get W3C trace ids (the
        // server starts an activity for every request) and in-process listeners (dotnet-counters, tests) still see
        // the App.Gateway spans and meters. docs/benchmarks.md measures both.
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName))
            .WithTracing(t => t
                .AddSource(GatewayTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation())
            .WithMetrics(m => m
                .AddMeter(GatewayTelemetry.SourceName, TraceWriter.MeterName, "Polly")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .UseOtlpExporter();
    }
}

/// <summary>
/// Builds the routes (providers and Polly pipelines) while the host starts, so a pipeline that cannot be built
/// stops start-up instead of failing the first request.
/// </summary>
internal sealed class RoutesWarmup(ModelRoutes routes, InputGuard guard, IPromptCatalog prompts) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A prompt template that names a model no route serves is a configuration error: say so at start.
        var orphan = prompts.All.FirstOrDefault(p => !routes.TryGetRoute(p.Definition.Model, out _));
        return orphan is null
            ? Task.FromResult(routes.Aliases.Count + guard.RuleCount)
            : throw new InvalidOperationException($"Prompt {orphan.Id} runs on model '{orphan.Definition.Model}', which Llm:Models does not define.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
