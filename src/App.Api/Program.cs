using App.Api.Hosting;
using App.Api.OpenAi;
using App.Infrastructure;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();   // Serilog, problem details, OpenAPI, health checks
builder.AddInfrastructure();    // options, Redis cache, providers behind Polly, OpenTelemetry

var app = builder.Build();

app.UseServiceDefaults();       // exception handling, security headers, request logs, /health, /openapi

app.MapChatCompletions();       // POST /v1/chat/completions
app.MapModels();                // GET  /v1/models

app.Run();

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
