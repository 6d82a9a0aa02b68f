using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Testing;
using Microsoft.Playwright;

namespace App.BrowserTests;

/// <summary>
/// The demo page in headless Chromium with the CDP WebAuthn virtual authenticator, against the real service on a
/// loopback socket: sign up with a passkey, stream a chat answer into the page, refresh the token, sign out and
/// back in; a second tenant's session cannot see the first's data (its cached answers); and a third person joins the
/// first tenant from the page with an invitation's code.
/// </summary>
public sealed class PasskeyPageTests : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

    private GatewayFactory _factory = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _origin = string.Empty;
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        var port = TestServers.FreePort();
        _origin = $"http://localhost:{port}";
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Passkeys:Origins:0", _origin)
            .With("Cache:KeyPrefix", $"browser:{Guid.NewGuid():N}:"));
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
    }

    private async Task<IPage> NewUserPageAsync()
    {
        var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _consoleErrors.Add(message.Text + " @ " + message.Location);
            }
        };
        // A platform authenticator with user verification, as a phone or laptop would have.
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
        var response = await page.GotoAsync(_origin + "/");
        Assert.NotNull(response);
        Assert.Contains("script-src 'self'", (await response!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        return page;
    }

    private static async Task SignUpAsync(IPage page, string tenant, string user)
    {
        await page.FillAsync("#tenant", tenant);
        await page.FillAsync("#user-name", user);
        await page.ClickAsync("#sign-up-button");
        await page.WaitForSelectorAsync("#signed-in:not([hidden])");
    }

    private static async Task<(string Answer, string Cache)> ChatAsync(IPage page, string prompt)
    {
        await page.FillAsync("#prompt", prompt);
        await page.ClickAsync("#send-button");
        await page.WaitForFunctionAsync("() => ['done', 'failed', 'interrupted'].includes(document.getElementById('chat-status').textContent)");
        Assert.Equal("done", await page.TextContentAsync("#chat-status"));
        return ((await page.TextContentAsync("#answer"))!, (await page.TextContentAsync("#cache"))!);
    }

    [Fact]
    public async Task SignUpChatRefreshSignOutSignInAndTenantsStayApart()
    {
        var tenantA = "a-" + Guid.NewGuid().ToString("N")[..8];
        var alice = await NewUserPageAsync();
        await SignUpAsync(alice, tenantA, "alice");
        Assert.Contains($"tenant {tenantA}", await alice.TextContentAsync("#who"), StringComparison.Ordinal);

        var (answer, cache) = await ChatAsync(alice, "What is a passkey?");
        Assert.StartsWith("Offline answer about \"What is a passkey?\":", answer, StringComparison.Ordinal);
        Assert.Equal("miss", cache);
        var (again, cacheAgain) = await ChatAsync(alice, "What is a passkey?");
        Assert.Equal(answer, again);
        Assert.Equal("hit", cacheAgain);

        var before = await alice.GetAttributeAsync("#expires", "data-token");
        await alice.ClickAsync("#refresh-button");
        await alice.WaitForFunctionAsync($"() => document.getElementById('expires').dataset.token !== '{before}'");
        var (afterRefresh, _) = await ChatAsync(alice, "Still signed in?");
        Assert.StartsWith("Offline answer", afterRefresh, StringComparison.Ordinal);

        await alice.ClickAsync("#sign-out-button");
        await alice.WaitForSelectorAsync("#signed-out:not([hidden])");
        await alice.ClickAsync("#sign-in-button");
        await alice.WaitForSelectorAsync("#signed-in:not([hidden])");
        Assert.Contains($"tenant {tenantA}", await alice.TextContentAsync("#who"), StringComparison.Ordinal);

        // Another person, another tenant: the same deterministic question is not answered from tenant A's cache.
        var tenantB = "b-" + Guid.NewGuid().ToString("N")[..8];
        var bob = await NewUserPageAsync();
        await SignUpAsync(bob, tenantB, "bob");
        Assert.Contains($"tenant {tenantB}", await bob.TextContentAsync("#who"), StringComparison.Ordinal);
        var (bobAnswer, bobCache) = await ChatAsync(bob, "What is a passkey?");
        Assert.Equal("miss", bobCache);
        Assert.Equal(answer, bobAnswer); // same deterministic model, separately computed

        Assert.Empty(await bob.TextContentAsync("#error") ?? string.Empty);

        // A third person joins tenant A with an invitation its administrator made: only a user name and the code.
        using var admin = _factory.CreateClientFor(tenantA, "alice-admin", Scopes.Admin, Scopes.ChatInvoke);
        using var invited = await admin.PostAsJsonAsync("/admin/invitations", new { scopes = Scopes.ChatInvoke });
        Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
        var code = (await invited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
        var carol = await NewUserPageAsync();
        await carol.FillAsync("#invitation", code);
        await carol.FillAsync("#user-name", "carol");
        await carol.ClickAsync("#sign-up-button");
        await carol.WaitForSelectorAsync("#signed-in:not([hidden])");
        var who = await carol.TextContentAsync("#who");
        Assert.Contains($"tenant {tenantA} · chat:invoke", who, StringComparison.Ordinal);
        var (carolAnswer, _) = await ChatAsync(carol, "What is a passkey?");
        Assert.Equal(answer, carolAnswer);

        Assert.Empty(_consoleErrors);
    }
}
