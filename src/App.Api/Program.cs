using App.Api.Audit;
using App.Api.Auth;
using App.Api.Commands;
using App.Api.Hosting;
using App.Api.Hosting.WarmUp;
using App.Api.Identity;
using App.Api.Jobs;
using App.Api.OpenAi;
using App.Api.Prompts;
using App.Api.Rum;
using App.Api.Traces;
using App.Api.Usage;
using App.Application;
using App.Infrastructure;
using App.Infrastructure.Jobs;

ProcessTuning.BeforeHostStarts();  // before any thread: thread-pool spinning off on one CPU
var builder = WebApplication.CreateBuilder(args);
var role = new ProcessRole { IsWorker = args is ["worker", ..] };
builder.Services.AddSingleton(role);

builder.AddServiceDefaults(runsCommand: CommandLine.IsCommand(args));   // Serilog, problem details, OpenAPI, health checks
builder.Services.AddApplication();  // the gateway, guard policy, prompt and job runners, and their options
builder.AddInfrastructure();        // options, PostgreSQL, Redis cache, providers behind Polly, key ring, OpenTelemetry
builder.AddAppAuthentication();     // bearer tokens (ours and OIDC issuers), scope policies, auth rate limits
if (!role.IsWorker && !CommandLine.IsCommand(args))
{
    builder.AddSelfWarmUp();        // requests to itself before it reports ready, so its first load meets compiled code
}

var app = builder.Build();

if (!role.IsWorker && await app.RunCommandAsync(args))   // migrate | rotate-signing-key | dev-token | ...
{
    return;
}

app.UseServiceDefaults();           // exception handling, security headers, request logs, auth, /health, /openapi
if (role.IsWorker)                  // App.Api worker: job workers and health endpoints, no API
{
    app.Run();
    return;
}

app.MapDiscovery();                 // GET  /.well-known/openid-configuration, /.well-known/jwks.json
app.MapPasskeyApi();                // POST /auth/passkeys/register[/options], /auth/passkeys/login[/options]
app.MapTokenApi();                  // POST /auth/refresh, /auth/logout; GET /auth/me
app.MapAdminApi();                  // POST /admin/users/{id}/disable
app.MapChatCompletions();           // POST /v1/chat/completions
app.MapEmbeddings();                // POST /v1/embeddings
app.MapModels();                    // GET  /v1/models
app.MapTracesApi();                 // GET  /v1/traces, /v1/traces/{id}
app.MapErasureApi();                // DELETE /admin/content (crypto-shredding of the tenant's stored content)
app.MapAuditApi();                  // GET  /v1/audit/verify
app.MapUsageApi();                  // GET  /v1/usage
app.MapPromptsApi();                // GET  /v1/prompts; POST /v1/prompts/{name}/run
app.MapJobsApi();                   // POST /v1/jobs; GET /v1/jobs/{id}, /v1/jobs/{id}/events
app.MapRum();                       // POST /rum (the page's real-user monitoring beacons)

app.Run();

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
