using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using App.Testing;
using Xunit.Abstractions;

namespace App.IntegrationTests.Identity;

/// <summary>
/// How fast the gateway follows an external issuer's signing keys, measured against a real issuer on loopback: a
/// new key is trusted within seconds of every rotation, a flood of unknown kids cannot make the gateway hammer the
/// issuer, and a withdrawn key stops working within the periodic refresh interval even if no unknown kid arrives.
/// </summary>
public sealed class ExternalIssuerKeyTests(ITestOutputHelper output) : GatewayTest
{
    /// <summary>The default least gap between two fetches of an issuer's metadata (<c>Auth:UnknownKeyRefreshInterval</c>).</summary>
    private static readonly TimeSpan DefaultGap = TimeSpan.FromSeconds(5);

    private FakeOidcIssuer _issuer = null!;

    protected override async Task StartMoreServersAsync() => _issuer = await FakeOidcIssuer.StartAsync();

    protected override Settings Configure(Settings settings) => _issuer.Configure(base.Configure(settings));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    private static Dictionary<string, object> Claims() => new()
    {
        ["sub"] = "external-user",
        ["org"] = "acme",
        ["scp"] = new[] { "chat:invoke" },
    };

    private static async Task<HttpStatusCode> CallAsync(GatewayFactory factory, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var client = factory.CreateClient();
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Sends a fresh token until it gets <paramref name="expected"/> or the time is up; returns how long that took.</summary>
    private static async Task<TimeSpan?> TimeUntilAsync(GatewayFactory factory, Func<string> token, HttpStatusCode expected, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (await CallAsync(factory, token()) == expected)
            {
                return clock.Elapsed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        return null;
    }

    [Fact]
    public async Task ANewKeyIsTrustedWithinSecondsOfEveryRotationNotOnlyTheFirst()
    {
        Assert.Equal(HttpStatusCode.OK, await CallAsync(Factory, _issuer.Token("gateway", Claims())));

        // Each rotation comes right after the keys were fetched, the worst case: the new kid waits out the least gap.
        for (var rotation = 1; rotation <= 3; rotation++)
        {
            _issuer.Rotate(keepPrevious: false);
            var took = await TimeUntilAsync(Factory, () => _issuer.Token("gateway", Claims()), HttpStatusCode.OK, TimeSpan.FromSeconds(15));
            output.WriteLine($"rotation {rotation}: a token under the new kid was accepted after {took?.TotalSeconds:0.00} s");
            Assert.True(took is not null, $"after rotation {rotation} a token under the new kid was accepted within 15 s");
            Assert.True(took < DefaultGap + TimeSpan.FromSeconds(5), $"after rotation {rotation} it took {took}, more than the least gap and a margin");
        }

        // Once the least gap has passed since the last fetch, the very first token under a new kid is accepted: the
        // refresh it triggers happens at once and the token is validated again against the new keys.
        await Task.Delay(DefaultGap + TimeSpan.FromSeconds(0.5));
        _issuer.Rotate(keepPrevious: false);
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, await CallAsync(Factory, _issuer.Token("gateway", Claims())));
        output.WriteLine($"after the least gap: the first token under the new kid was accepted in {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task AFloodOfUnknownKidsFetchesTheKeysAtMostOncePerLeastGap()
    {
        Assert.Equal(HttpStatusCode.OK, await CallAsync(Factory, _issuer.Token("gateway", Claims())));
        using var forger = RSA.Create(2048);
        var fetchesBefore = _issuer.JwksFetches;
        var clock = Stopwatch.StartNew();

        // Tokens under kids the issuer never published, in concurrent waves spread over more than one gap.
        var refused = 0;
        for (var wave = 0; wave < 5; wave++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
                CallAsync(Factory, _issuer.Token("gateway", Claims(), key: ($"forged-{wave}-{i}-{Guid.NewGuid():N}", forger)))));
            refused += answers.Count(a => a == HttpStatusCode.Unauthorized);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        var elapsed = clock.Elapsed;
        var fetches = _issuer.JwksFetches - fetchesBefore;
        var bound = (int)(elapsed / DefaultGap) + 1;
        output.WriteLine($"50 unknown kids over {elapsed.TotalSeconds:0.0} s: {fetches} JWKS fetches (bound {bound})");
        Assert.Equal(50, refused);
        Assert.InRange(fetches, 1, bound);
    }

    [Fact]
    public async Task AWithdrawnKeyIsRefusedWithinThePeriodicIntervalWithoutAnyUnknownKid()
    {
        var interval = TimeSpan.FromSeconds(2);
        var settings = _issuer.Configure(new Settings())
            .With("Auth:MetadataRefreshInterval", "00:00:02")
            .With("Auth:UnknownKeyRefreshInterval", "00:00:01");
        await using var factory = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), settings);
        var withdrawn = _issuer.Current;
        Assert.Equal(HttpStatusCode.OK, await CallAsync(factory, _issuer.Token("gateway", Claims(), key: withdrawn)));

        // Only tokens under the withdrawn key are sent: nothing but the periodic refresh can tell the gateway.
        _issuer.Rotate(keepPrevious: false);
        var took = await TimeUntilAsync(factory, () => _issuer.Token("gateway", Claims(), key: withdrawn), HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(15));
        output.WriteLine($"a withdrawn key kept working for {took?.TotalSeconds:0.00} s (periodic interval {interval.TotalSeconds} s)");
        Assert.True(took is not null, "the withdrawn key was refused within 15 s");
        Assert.True(took < interval + TimeSpan.FromSeconds(2), $"the withdrawn key kept working for {took}, longer than the interval and a margin");

        Assert.Equal(HttpStatusCode.OK, await CallAsync(factory, _issuer.Token("gateway", Claims())));
    }
}
