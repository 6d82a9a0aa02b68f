using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Identity;

/// <summary>Full passkey ceremonies against the real service with a software authenticator, and the attacks on them.</summary>
public class PasskeyTests : GatewayTest
{
    private const string Origin = PasskeyCeremonies.Origin;
    private readonly SoftwareAuthenticator _authenticator = new();

    public override async Task DisposeAsync()
    {
        _authenticator.Dispose();
        await base.DisposeAsync();
    }

    private PasskeyCeremonies Ceremonies => new(Factory);

    private HttpClient Anonymous => Factory.CreateClient();

    private Task<(string Ceremony, JsonElement Options)> OptionsAsync(string path, object? body = null) => Ceremonies.OptionsAsync(path, body);

    private Task<HttpResponseMessage> AnswerAsync(string path, string ceremony, JsonObject credential) => Ceremonies.AnswerAsync(path, ceremony, credential);

    private async Task<JsonElement> SignUpAsync()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice", displayName = "Alice" });
        Assert.Equal("required", options.GetProperty("authenticatorSelection").GetProperty("userVerification").GetString());
        Assert.True(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(options.GetProperty("challenge").GetString()!).Length >= 16, "challenge of at least 128 bits");
        using var response = await AnswerAsync("/auth/passkeys/register", ceremony, _authenticator.Register(options, Origin));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<JsonElement> MeAsync(string accessToken) => Ceremonies.MeAsync(accessToken);

    [Fact]
    public async Task SignUpCreatesTheTenantAndItsAdminAndSignInStartsASession()
    {
        var signUp = await SignUpAsync();
        var me = await MeAsync(signUp.GetProperty("access_token").GetString()!);
        Assert.Equal(Tenant, me.GetProperty("tenant").GetString());
        Assert.Contains("admin", me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var (ceremony, options) = await OptionsAsync("/auth/passkeys/login/options");
        Assert.Equal("required", options.GetProperty("userVerification").GetString());
        using var login = await AnswerAsync("/auth/passkeys/login", ceremony, _authenticator.Assert(options, Origin));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var tokens = await login.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(me.GetProperty("subject").GetString(), (await MeAsync(tokens.GetProperty("access_token").GetString()!)).GetProperty("subject").GetString());
        Assert.StartsWith("rt_", tokens.GetProperty("refresh_token").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondSignUpForAnExistingTenantIsRefused()
    {
        await SignUpAsync();
        using var response = await Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "mallory" });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task ABadOriginIsRejected()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" });
        using var response = await AnswerAsync("/auth/passkeys/register", ceremony, _authenticator.Register(options, "https://evil.example"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ABadRelyingPartyIdIsRejected()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" });
        using var response = await AnswerAsync("/auth/passkeys/register", ceremony, _authenticator.Register(options, Origin, rpId: "evil.example"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AnAnswerWithoutUserVerificationIsRejected()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" });
        using var response = await AnswerAsync("/auth/passkeys/register", ceremony, _authenticator.Register(options, Origin, verified: false));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AReplayedChallengeIsRejected()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" });
        var answer = _authenticator.Register(options, Origin);
        using (var first = await AnswerAsync("/auth/passkeys/register", ceremony, answer))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var replay = await AnswerAsync("/auth/passkeys/register", ceremony, answer))
        {
            Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        }

        var (signIn, signInOptions) = await OptionsAsync("/auth/passkeys/login/options");
        var assertion = _authenticator.Assert(signInOptions, Origin);
        using (var ok = await AnswerAsync("/auth/passkeys/login", signIn, assertion))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var replayed = await AnswerAsync("/auth/passkeys/login", signIn, assertion);
        Assert.Equal(HttpStatusCode.BadRequest, replayed.StatusCode);
    }

    [Fact]
    public async Task AWrongSignatureIsRejected()
    {
        await SignUpAsync();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/login/options");
        using var response = await AnswerAsync("/auth/passkeys/login", ceremony, _authenticator.Assert(options, Origin, signWith: other));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ASignInAnswerForAnotherChallengeIsRejected()
    {
        await SignUpAsync();
        var (ceremony, _) = await OptionsAsync("/auth/passkeys/login/options");
        var (_, otherOptions) = await OptionsAsync("/auth/passkeys/login/options");
        using var response = await AnswerAsync("/auth/passkeys/login", ceremony, _authenticator.Assert(otherOptions, Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ASignCounterThatGoesBackIsRejected()
    {
        await SignUpAsync();
        _authenticator.Counter = 10;
        var (first, options) = await OptionsAsync("/auth/passkeys/login/options");
        using (var ok = await AnswerAsync("/auth/passkeys/login", first, _authenticator.Assert(options, Origin)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        _authenticator.Counter = 3; // a cloned authenticator behind the original
        var (second, options2) = await OptionsAsync("/auth/passkeys/login/options");
        using var cloned = await AnswerAsync("/auth/passkeys/login", second, _authenticator.Assert(options2, Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, cloned.StatusCode);
    }

    [Fact]
    public async Task BackupFlagsAreStoredAndEligibilityMayNotChange()
    {
        await SignUpAsync();
        async Task<(bool Eligible, bool BackedUp)> StoredAsync() =>
            await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.PasskeyCredentials.Select(c => new ValueTuple<bool, bool>(c.BackupEligible, c.BackupState)).SingleAsync(), CancellationToken.None);
        Assert.Equal((true, true), await StoredAsync());

        // The backup state may change (the passkey left its sync provider); what the sign-in reports is stored.
        _authenticator.IsBackedUp = false;
        var (first, options) = await OptionsAsync("/auth/passkeys/login/options");
        using (var ok = await AnswerAsync("/auth/passkeys/login", first, _authenticator.Assert(options, Origin)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        Assert.Equal((true, false), await StoredAsync());

        // Eligibility is fixed at registration: the same credential id reporting otherwise is another authenticator.
        _authenticator.IsBackupEligible = false;
        var (second, options2) = await OptionsAsync("/auth/passkeys/login/options");
        using var changed = await AnswerAsync("/auth/passkeys/login", second, _authenticator.Assert(options2, Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, changed.StatusCode);
    }

    [Fact]
    public async Task AnUnknownCredentialIsRejected()
    {
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/login/options");
        using var response = await AnswerAsync("/auth/passkeys/login", ceremony, _authenticator.Assert(options, Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("x", "alice")]
    [InlineData("UPPER", "alice")]
    [InlineData("has space", "alice")]
    public async Task InvalidSignUpInputIs400(string tenant, string userName)
    {
        using var response = await Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { tenant, userName });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
