using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using App.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace App.BrowserTests;

/// <summary>
/// Real-user monitoring from the demo page in headless Chromium against the real service on a loopback socket: a
/// page view with a click and a streamed answer, once the page is left, sends one beacon that holds metric names and
/// numbers only, and the App.Rum histograms move.
/// </summary>
public sealed class RumPageTests : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

    private readonly ConcurrentQueue<(string Name, double Value)> _recorded = new();
    private readonly MeterListener _listener = new();

    // What reached the service at /rum, seen there: the beacon leaves while the page unloads, where neither
    // Playwright's request events nor the DevTools protocol's still report it.
    private readonly ConcurrentQueue<(string? ContentType, string Body)> _beacons = new();
    private GatewayFactory _factory = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _origin = string.Empty;

    public async Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "App.Rum")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _recorded.Enqueue((instrument.Name, value)));
        _listener.Start();

        var port = TestServers.FreePort();
        _origin = $"http://localhost:{port}";
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Passkeys:Origins:0", _origin)
            .With("Cache:KeyPrefix", $"browser:{Guid.NewGuid():N}:"))
        {
            ExtraServices = services => services.AddSingleton<IStartupFilter>(new BeaconTap(_beacons)),
        };
        _factory.UseKestrel(port);
        _factory.StartServer();

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Args = ChromiumArgs,
            Headless = true,
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _factory.DisposeAsync();
        _listener.Dispose();
    }

    [Fact]
    public async Task LeavingThePageSendsOneBeaconAndTheMetricsMove()
    {
        var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var consoleErrors = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Enqueue(message.Text);
            }
        };
        var cdp = await context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });

        await page.GotoAsync(_origin + "/");
        // A click and typing are the interactions INP measures; signing up and chatting give the page a streamed answer.
        await page.ClickAsync("#tenant");
        await page.Keyboard.TypeAsync("r-" + Guid.NewGuid().ToString("N")[..8]);
        await page.FillAsync("#user-name", "rum");
        await page.ClickAsync("#sign-up-button");
        await page.WaitForSelectorAsync("#signed-in:not([hidden])");
        await page.ClickAsync("#send-button");
        await page.WaitForFunctionAsync("() => document.getElementById('chat-status').textContent === 'done'");
        Assert.Empty(_recorded);

        // Leaving the page hides it (visibilitychange, then pagehide): the beacon goes then, as the browser unloads it.
        await page.GotoAsync("about:blank");
        var deadline = Stopwatch.StartNew();
        while (!_recorded.Any(r => r.Name == "app.rum.ttft") && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        var recorded = _recorded.ToArray();
        Assert.True(recorded.Any(r => r.Name == "app.rum.lcp" && r.Value is > 0 and < 60), "LCP: " + string.Join(", ", recorded));
        Assert.Contains(recorded, r => r.Name == "app.rum.cls" && r.Value is >= 0 and <= 10);
        Assert.Contains(recorded, r => r.Name == "app.rum.inp" && r.Value is >= 0 and < 60);
        Assert.Contains(recorded, r => r.Name == "app.rum.ttft" && r.Value is > 0 and < 60);
        Assert.Equal(4, recorded.Length);

        // One beacon per page view, as text/plain JSON of metric names and numbers and nothing else.
        var (contentType, body) = Assert.Single(_beacons);
        Assert.StartsWith("text/plain", contentType, StringComparison.OrdinalIgnoreCase);
        var members = JsonDocument.Parse(body).RootElement.EnumerateObject().ToList();
        Assert.Equal(["cls", "inp", "lcp", "ttft"], members.Select(m => m.Name).Order(StringComparer.Ordinal));
        Assert.All(members, m => Assert.Equal(JsonValueKind.Number, m.Value.ValueKind));
        Assert.Empty(consoleErrors);
    }

    /// <summary>Copies each request to /rum before the endpoint reads it.</summary>
    private sealed class BeaconTap(ConcurrentQueue<(string? ContentType, string Body)> beacons) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path == "/rum")
                {
                    context.Request.EnableBuffering();
                    using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
                    beacons.Enqueue((context.Request.ContentType, await reader.ReadToEndAsync(context.RequestAborted)));
                    context.Request.Body.Position = 0;
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
