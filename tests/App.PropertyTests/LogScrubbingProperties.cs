using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using App.FakeUpstream;
using App.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace App.PropertyTests;

/// <summary>A secret or piece of personal data, and the part of it that must never be seen again.</summary>
public sealed record PlantedSecret(string Kind, string Value, string Core)
{
    public override string ToString() => $"{Kind}: {Value}";
}

public static class PlantedSecrets
{
    public static Arbitrary<PlantedSecret> Values() => Arb.From(Gen.OneOf(
        RedactorGenerators.Email.Select(v => new PlantedSecret("email", v, v)),
        RedactorGenerators.Card.Select(v => new PlantedSecret("card", v, v)),
        RedactorGenerators.ApiKey.Select(v => new PlantedSecret("api key", v, v)),
        RedactorGenerators.Jwt.Select(v => new PlantedSecret("bearer token", v, v[(v.LastIndexOf('.') + 1)..])),
        RedactorGenerators.UrlWithPassword.Select(v => new PlantedSecret("password in a URL", v, v[(v.IndexOf(':', v.IndexOf("://", StringComparison.Ordinal) + 3) + 1)..v.IndexOf('@', StringComparison.Ordinal)]))));
}

/// <summary>
/// The real service (with Redis, PostgreSQL and the fake upstream) with every log event, span and metric measurement
/// of the process captured; one per test class, as starting it takes seconds. Started by the first property run
/// (the property runner does not start class fixtures), stopped with the class.
/// </summary>
public sealed class ScrubbedService : IAsyncDisposable
{
    private readonly SemaphoreSlim _starting = new(1, 1);

    public TelemetryCapture Capture { get; } = new();

    public FakeUpstreamServer? Upstream { get; private set; }

    public GatewayFactory? Factory { get; private set; }

    public HttpClient? Client { get; private set; }

    public async Task StartAsync()
    {
        await _starting.WaitAsync();
        try
        {
            if (Client is null)
            {
                await StartServicesAsync();
            }
        }
        finally
        {
            _starting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (Factory is not null)
        {
            await Factory.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        Capture.Dispose();
        _starting.Dispose();
    }

    private async Task StartServicesAsync()
    {
        var redis = await SharedServers.RedisAsync();
        Upstream = await FakeUpstreamServer.StartAsync();
        var settings = new Settings()
            .Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("RetryBaseDelay", "00:00:00.010"))
            .With("Serilog:MinimumLevel:Default", "Debug")
            .With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")
            .With("Jobs:StreamKey", $"test:{Guid.NewGuid():N}:jobs");
        Factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), settings)
        {
            ExtraServices = services => services.AddSingleton<ILogEventSink>(Capture),
        };
        Client = Factory.CreateClientFor("t-" + Guid.NewGuid().ToString("N")[..10]);
    }
}

/// <summary>
/// Personal data and secrets sent through every way into the service (a request body, a model name, headers, the
/// query string, a bearer token, an upstream's error and a broken upstream answer, a body that fails to parse) never
/// appear in a log event, a span or a metric label.
/// </summary>
public sealed class LogScrubbingProperties(ScrubbedService service) : IClassFixture<ScrubbedService>
{
    [Property(Arbitrary = [typeof(PlantedSecrets)], MaxTest = 15)]
    public void NoSecretReachesLogsSpansOrMetricLabels(PlantedSecret secret) => SendEverywhereAsync(secret).GetAwaiter().GetResult();

    private async Task SendEverywhereAsync(PlantedSecret planted)
    {
        await service.StartAsync();
        var (secret, upstream, client) = (planted.Value, service.Upstream!, service.Client!);
        await ChatAsync(Chat($"my details are {secret}, please remember them"), secret);
        await ChatAsync(Chat("hello", model: secret), secret);
        await ChatAsync(Chat("stream it " + secret, stream: true), secret);

        upstream.Default = Fault.Error(400, message: $"invalid request: {secret} is not allowed");
        await ChatAsync(Chat("an upstream refusal", temperature: 0.7), secret);
        upstream.Default = Fault.Error(500, message: $"internal error near {secret}");
        await ChatAsync(Chat("an upstream failure", temperature: 0.7), secret);
        upstream.Default = new Fault(FaultKind.Malformed, Message: secret);
        await ChatAsync(Chat("a broken answer", temperature: 0.7), secret);
        upstream.Default = Fault.Ok();

        using (var broken = new StringContent("{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"" + secret + "\"}],\"temperature\":\"" + secret + "\"}", Encoding.UTF8, "application/json"))
        {
            (await client.PostAsync("/v1/chat/completions", broken)).Dispose();
        }

        using (var truncated = new StringContent("{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"" + secret, Encoding.UTF8, "application/json"))
        {
            (await client.PostAsync("/v1/chat/completions", truncated)).Dispose();
        }

        using (var anonymous = service.Factory!.CreateClient())
        using (var bearer = new HttpRequestMessage(HttpMethod.Get, "/v1/models"))
        {
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            (await anonymous.SendAsync(bearer)).Dispose();
            (await anonymous.GetAsync("/v1/models?access_token=" + Uri.EscapeDataString(secret))).Dispose();
        }

        // The request logs and spans end as the answers do: a moment for the last ones.
        await Task.Delay(150);
        // The capture sees each kind of output, so an empty search means scrubbed, not unheard.
        Assert.NotEmpty(service.Capture.Find("RequestPath=\"/v1/chat/completions\""));
        Assert.NotEmpty(service.Capture.Find("App.Gateway/gen_ai.client.operation.duration"));
        Assert.NotEmpty(service.Capture.Find("App.Gateway | chat gpt"));
        var found = service.Capture.Find(secret).Concat(service.Capture.Find(planted.Core)).Distinct().ToList();
        Assert.True(found.Count == 0, "Emitted in clear:\n" + string.Join('\n', found.Take(5)));
    }

    /// <summary>A body, headers and a query string that all carry the secret.</summary>
    private async Task ChatAsync(JsonObject body, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions?user=" + Uri.EscapeDataString(secret) + "&note=" + Uri.EscapeDataString(secret))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("X-Request-Note", secret);
        request.Headers.TryAddWithoutValidation("User-Agent", "client/1.0 (" + secret + ")");
        request.Headers.TryAddWithoutValidation("OpenAI-Organization", secret);
        using var response = await service.Client!.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await response.Content.ReadAsByteArrayAsync();
    }

    private static JsonObject Chat(string prompt, string model = "gpt", double? temperature = null, bool stream = false)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            ["user"] = prompt,
        };
        if (temperature is not null)
        {
            body["temperature"] = temperature;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        return body;
    }
}
