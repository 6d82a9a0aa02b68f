using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Identity;

/// <summary>Refresh-token rotation, reuse detection, absolute expiry, logout and disabling a user.</summary>
public class SessionTests : GatewayTest
{
    private async Task<User> CreateUserAsync(string scopes = "chat:invoke admin")
    {
        var user = new User
        {
            Id = Guid.CreateVersion7(),
            TenantId = Tenant,
            UserName = "u" + Guid.NewGuid().ToString("N")[..8],
            DisplayName = "Test User",
            UserHandle = RandomNumberGenerator.GetBytes(32),
            Scopes = scopes,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await InTenant.WriteAsync(Tenant, async db =>
        {
            if (!await db.Tenants.AnyAsync(t => t.Id == Tenant))
            {
                db.Tenants.Add(new Tenant { Id = Tenant, Name = Tenant, CreatedAt = DateTimeOffset.UtcNow });
            }

            db.Users.Add(user);
        }, CancellationToken.None);
        return user;
    }

    // The identity tables are row-secured: test set-up and checks act as the tenant, as the service does.
    private TenantData InTenant => Factory.Services.GetRequiredService<TenantData>();

    private Task<TokenPair> StartAsync(User user) => Factory.Services.GetRequiredService<Sessions>().StartAsync(user, CancellationToken.None);

    private async Task<(HttpStatusCode Status, JsonElement Body)> RefreshAsync(string refreshToken)
    {
        using var response = await Factory.CreateClient().PostAsJsonAsync("/auth/refresh", new { refresh_token = refreshToken });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, body);
    }

    private async Task<HttpStatusCode> CallWithAsync(string accessToken, string path = "/v1/models")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await Factory.CreateClient().SendAsync(request);
        return response.StatusCode;
    }

    private Task<List<RefreshToken>> FamilyAsync(Guid userId) =>
        InTenant.ReadAsync(Tenant, db => db.RefreshTokens.Where(t => t.UserId == userId).OrderBy(t => t.CreatedAt).ToListAsync(), CancellationToken.None);

    [Fact]
    public async Task RefreshRotatesTheTokenAndIssuesAWorkingAccessToken()
    {
        var user = await CreateUserAsync();
        var first = await StartAsync(user);
        Assert.StartsWith("rt_", first.RefreshToken, StringComparison.Ordinal);
        Assert.True(Base64UrlDecodedLength(first.RefreshToken[3..]) >= 32, "at least 256 bits");

        var (status, body) = await RefreshAsync(first.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, status);
        var second = body.GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(first.RefreshToken, second);
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.InRange(body.GetProperty("expires_in").GetInt32(), 1, 300);
        Assert.Equal(HttpStatusCode.OK, await CallWithAsync(body.GetProperty("access_token").GetString()!));

        // Only hashes are stored, never the token.
        var stored = await FamilyAsync(user.Id);
        Assert.Equal(2, stored.Count);
        Assert.All(stored, t => Assert.Equal(32, t.TokenHash.Length));
        Assert.Equal(stored[0].FamilyId, stored[1].FamilyId);
        Assert.NotNull(stored[0].ConsumedAt);
    }

    [Fact]
    public async Task ReusingARotatedTokenRevokesTheWholeFamilyAndItsAccessTokens()
    {
        var user = await CreateUserAsync();
        var first = await StartAsync(user);
        var (_, body) = await RefreshAsync(first.RefreshToken);
        var second = body.GetProperty("refresh_token").GetString()!;
        var (_, body3) = await RefreshAsync(second); // the successor is used: the first can no longer be a lost response
        var third = body3.GetProperty("refresh_token").GetString()!;
        var liveAccess = body3.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await CallWithAsync(liveAccess));

        var (reuse, problem) = await RefreshAsync(first.RefreshToken);
        Assert.Equal(HttpStatusCode.Unauthorized, reuse);
        Assert.Equal("urn:app:problem:invalid-grant", problem.GetProperty("type").GetString());

        var (afterReuse, _) = await RefreshAsync(third);
        Assert.Equal(HttpStatusCode.Unauthorized, afterReuse);
        Assert.All(await FamilyAsync(user.Id), t => Assert.NotNull(t.RevokedAt));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallWithAsync(liveAccess));
    }

    [Fact]
    public async Task AnImmediateRetryOfALostRefreshResponseKeepsTheSession()
    {
        var user = await CreateUserAsync();
        var first = await StartAsync(user);
        var (_, lost) = await RefreshAsync(first.RefreshToken); // the client never saw this answer
        var (status, retried) = await RefreshAsync(first.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, status);

        // The successor the client never saw is dead; the one it got now works.
        var (deadStatus, _) = await RefreshAsync(lost.GetProperty("refresh_token").GetString()!);
        Assert.Equal(HttpStatusCode.Unauthorized, deadStatus);
        var stored = await FamilyAsync(user.Id);
        Assert.Contains(stored, t => t.RevokedReason == "replaced_after_lost_response");
    }

    [Fact]
    public async Task ReuseAfterTheGraceWindowRevokesTheFamily()
    {
        var user = await CreateUserAsync();
        var first = await StartAsync(user);
        var (_, body) = await RefreshAsync(first.RefreshToken);
        // The token was used a minute ago.
        await InTenant.ReadAsync(Tenant, db => db.RefreshTokens.Where(t => t.UserId == user.Id && t.ConsumedAt != null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ConsumedAt, DateTimeOffset.UtcNow.AddMinutes(-1))), CancellationToken.None);

        var (reuse, _) = await RefreshAsync(first.RefreshToken);
        Assert.Equal(HttpStatusCode.Unauthorized, reuse);
        var (successor, _) = await RefreshAsync(body.GetProperty("refresh_token").GetString()!);
        Assert.Equal(HttpStatusCode.Unauthorized, successor);
    }

    [Fact]
    public async Task RotationNeverOutlivesTheFamilysAbsoluteExpiry()
    {
        var user = await CreateUserAsync();
        var first = await StartAsync(user);
        var (_, body) = await RefreshAsync(first.RefreshToken);
        var stored = await FamilyAsync(user.Id);
        Assert.All(stored, t => Assert.Equal(stored[0].FamilyExpiresAt, t.FamilyExpiresAt));

        await InTenant.ReadAsync(Tenant, db => db.RefreshTokens.Where(t => t.UserId == user.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.FamilyExpiresAt, DateTimeOffset.UtcNow.AddSeconds(-1))), CancellationToken.None);

        var (status, _) = await RefreshAsync(body.GetProperty("refresh_token").GetString()!);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task LogoutEndsTheSessionAndItsAccessTokens()
    {
        var user = await CreateUserAsync();
        var pair = await StartAsync(user);
        Assert.Equal(HttpStatusCode.OK, await CallWithAsync(pair.AccessToken));

        using var logout = await Factory.CreateClient().PostAsJsonAsync("/auth/logout", new { refresh_token = pair.RefreshToken });
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await CallWithAsync(pair.AccessToken));
        var (status, _) = await RefreshAsync(pair.RefreshToken);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task DisablingAUserEndsAllTheirSessionsAtOnce()
    {
        var admin = await CreateUserAsync("chat:invoke admin");
        var victim = await CreateUserAsync("chat:invoke");
        var sessionA = await StartAsync(victim);
        var sessionB = await StartAsync(victim);
        var adminSession = await StartAsync(admin);

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/users/{victim.Id}/disable");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminSession.AccessToken);
        using var disable = await Factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, disable.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await CallWithAsync(sessionA.AccessToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallWithAsync(sessionB.AccessToken));
        Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(sessionA.RefreshToken)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(sessionB.RefreshToken)).Status);
        Assert.Equal(HttpStatusCode.OK, await CallWithAsync(adminSession.AccessToken));
        var reloaded = await InTenant.ReadAsync(Tenant, db => db.Users.SingleAsync(u => u.Id == victim.Id), CancellationToken.None);
        Assert.NotNull(reloaded.DisabledAt);
        await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(reloaded));
    }

    [Fact]
    public async Task AnAdminCannotDisableAUserOfAnotherTenant()
    {
        var victim = await CreateUserAsync("chat:invoke");
        var otherTenantAdmin = Factory.MintToken("other-" + Tenant, "admin", [Scopes.Admin]);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/users/{victim.Id}/disable");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", otherTenantAdmin);
        using var response = await Factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.All(await FamilyAsync(victim.Id), t => Assert.Null(t.RevokedAt));
    }

    [Theory]
    [InlineData("")]
    [InlineData("rt_not-a-real-token-at-all-000000000000000")]
    [InlineData("eyJhbGciOiJub25lIn0.e30.")]
    public async Task UnknownRefreshTokensAllGetTheSameAnswer(string token)
    {
        var (status, body) = await RefreshAsync(token);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("urn:app:problem:invalid-grant", body.GetProperty("type").GetString());
    }

    private static int Base64UrlDecodedLength(string s) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(s).Length;
}
