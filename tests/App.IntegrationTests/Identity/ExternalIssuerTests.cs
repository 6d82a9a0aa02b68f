using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using App.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Identity;

/// <summary>
/// Tokens from an external OIDC issuer running on loopback: metadata and keys are fetched over HTTP, the
/// issuer's tenant and scope claims are mapped onto ours, and key rotation at the issuer is followed.
/// </summary>
public class ExternalIssuerTests : GatewayTest
{
    private FakeOidcIssuer _issuer = null!;

    protected override async Task StartMoreServersAsync() => _issuer = await FakeOidcIssuer.StartAsync();

    protected override Settings Configure(Settings settings) => _issuer.Configure(base.Configure(settings));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    private static Dictionary<string, object> Claims(string org = "acme", string[]? scp = null) => new()
    {
        ["sub"] = "external-user",
        ["org"] = org,
        ["scp"] = scp ?? ["chat:invoke"],
    };

    private async Task<HttpResponseMessage> CallAsync(string token, string path = "/auth/me")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await Factory.CreateClient().SendAsync(request);
    }

    [Fact]
    public async Task AValidTokenIsAcceptedWithItsTenantAndScopesMapped()
    {
        using var response = await CallAsync(_issuer.Token("gateway", Claims()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var me = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("acme", me.GetProperty("tenant").GetString());
        Assert.Equal("chat:invoke", me.GetProperty("scopes")[0].GetString());
        // Claims keep their JWT names: the subject is the token's "sub", not lost to a remapped claim type.
        Assert.Equal("external-user", me.GetProperty("subject").GetString());
        Assert.True(_issuer.JwksFetches >= 1, "the keys were fetched over HTTP");

        using var chat = await CallAsync(_issuer.Token("gateway", Claims()), "/v1/models");
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
    }

    [Fact]
    public async Task TheIssuersTokensAreHeldToTheSameRules()
    {
        using var noTenant = await CallAsync(_issuer.Token("gateway", new Dictionary<string, object> { ["sub"] = "x", ["scp"] = new[] { "chat:invoke" } }));
        Assert.Equal(HttpStatusCode.Unauthorized, noTenant.StatusCode);
        using var wrongAudience = await CallAsync(_issuer.Token("someone-else", Claims()));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAudience.StatusCode);
        using var wrongType = await CallAsync(_issuer.Token("gateway", Claims(), typ: "id_token+jwt"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongType.StatusCode);
        using var noScope = await CallAsync(_issuer.Token("gateway", Claims(scp: ["traces:read"])), "/v1/models");
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);
        using var expired = await CallAsync(_issuer.Token("gateway", new Dictionary<string, object>(Claims())
        {
            ["iat"] = DateTimeOffset.UtcNow.AddMinutes(-20).ToUnixTimeSeconds(),
            ["nbf"] = DateTimeOffset.UtcNow.AddMinutes(-20).ToUnixTimeSeconds(),
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds(),
        }));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
    }

    [Fact]
    public async Task KeyRotationAtTheIssuerIsFollowed()
    {
        var old = _issuer.Current;
        using (var before = await CallAsync(_issuer.Token("gateway", Claims())))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // A new key is published and the old one withdrawn. A token with the unknown kid makes the gateway re-read
        // the metadata (at most once per least gap, Auth:UnknownKeyRefreshInterval); from then on the new key is
        // trusted. ExternalIssuerKeyTests measures how soon.
        var fetchesBefore = _issuer.JwksFetches;
        _issuer.Rotate(keepPrevious: false);
        var accepted = false;
        for (var attempt = 0; attempt < 10 && !accepted; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            using var rotated = await CallAsync(_issuer.Token("gateway", Claims()));
            accepted = rotated.StatusCode == HttpStatusCode.OK;
        }

        Assert.True(accepted, "a token signed with the issuer's new key was accepted");
        Assert.True(_issuer.JwksFetches > fetchesBefore, "the keys were fetched again");

        // The withdrawn key is no longer trusted: kid not in the JWKS after rotation.
        using var stale = await CallAsync(_issuer.Token("gateway", Claims(), key: old));
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
    }

    [Fact]
    public async Task WithAnExternalIssuerTheDefaultSchemeChoosesByIssuerAndWithoutOneItIsOurs()
    {
        var schemes = Factory.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        Assert.Equal("Bearer", (await schemes.GetDefaultAuthenticateSchemeAsync())!.Name);

        // Without one, every bearer token is ours and goes straight to the first-party scheme.
        await using var plain = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), new Settings());
        var direct = plain.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        Assert.Equal("app", (await direct.GetDefaultAuthenticateSchemeAsync())!.Name);
        Assert.Equal("app", (await direct.GetDefaultChallengeSchemeAsync())!.Name);
    }

    [Fact]
    public async Task FirstPartyTokensStillWorkBesideTheExternalIssuer()
    {
        using var response = await Client.GetAsync("/auth/me");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Tenant, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tenant").GetString());
    }
}
