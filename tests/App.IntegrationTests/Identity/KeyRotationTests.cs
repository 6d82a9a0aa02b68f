using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Identity;

/// <summary>Signing-key rotation, on a database of its own (the key ring is global state).</summary>
public sealed class KeyRotationTests : IAsyncLifetime
{
    private GatewayFactory _factory = null!;
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        var redis = await SharedServers.RedisAsync();
        _database = await Databases.FreshAsync();
        _factory = new GatewayFactory(redis.ConnectionString, _database);
        _factory.CreateClient().Dispose(); // start the host: the ring creates its first key
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private SigningKeyRing Ring => _factory.Services.GetRequiredService<SigningKeyRing>();

    private async Task<HttpStatusCode> CallAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _factory.CreateClient().SendAsync(request);
        return response.StatusCode;
    }

    private async Task<List<string>> JwksKidsAsync()
    {
        var json = await _factory.CreateClient().GetStringAsync("/.well-known/jwks.json");
        return JsonDocument.Parse(json).RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!).ToList();
    }

    [Fact]
    public async Task TokensOfTheRetiredKeyValidateUntilItExpiresAndFailAfter()
    {
        var oldKid = Ring.Current.Signing.Key.KeyId;
        var oldToken = _factory.MintToken("rot", "u", [Scopes.ChatInvoke]);
        Assert.Contains(oldKid, await JwksKidsAsync());

        var rotated = await Ring.RotateNowAsync(CancellationToken.None);
        var newKid = rotated.Signing.Key.KeyId;
        Assert.NotEqual(oldKid, newKid);
        var newToken = _factory.MintToken("rot", "u", [Scopes.ChatInvoke]);
        Assert.Contains($"\"kid\":\"{newKid}\"", DecodeHeader(newToken), StringComparison.Ordinal);

        // The retired key still validates the tokens it signed, and stays published.
        Assert.Equal(HttpStatusCode.OK, await CallAsync(oldToken));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(newToken));
        var published = await JwksKidsAsync();
        Assert.Contains(oldKid, published);
        Assert.Contains(newKid, published);

        // Once its last token can have expired, it leaves the ring and the JWKS; its tokens fail.
        await using (var db = await _factory.Services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContextAsync())
        {
            await db.SigningKeys.Where(k => k.Id == oldKid).ExecuteUpdateAsync(s => s.SetProperty(k => k.ExpiresAt, DateTimeOffset.UtcNow.AddSeconds(-1)));
        }

        await Ring.ReloadAsync(CancellationToken.None);
        Assert.DoesNotContain(oldKid, await JwksKidsAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(oldToken));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(newToken));

        // Creation and early retirement are in the system audit chain, which verifies.
        var audit = _factory.Services.GetRequiredService<App.Infrastructure.Audit.AuditLog>();
        var chain = await audit.VerifyAsync(App.Application.Audit.AuditKinds.SystemTenant, CancellationToken.None);
        Assert.True(chain.Ok);
        Assert.True(chain.Entries >= 3, $"key created, retired, successor created: {chain.Entries} entries");
    }

    [Fact]
    public async Task TheNextKeyIsPublishedBeforeItSigns()
    {
        var signing = Ring.Current.Signing.Key.KeyId;
        await using (var db = await _factory.Services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContextAsync())
        {
            // The signing key has five minutes left: inside the publish lead.
            await db.SigningKeys.Where(k => k.Id == signing).ExecuteUpdateAsync(s => s
                .SetProperty(k => k.RetiresAt, DateTimeOffset.UtcNow.AddMinutes(5))
                .SetProperty(k => k.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(11)));
        }

        var snapshot = await Ring.ReloadAsync(CancellationToken.None);
        Assert.Equal(signing, snapshot.Signing.Key.KeyId); // still signing
        var kids = await JwksKidsAsync();
        Assert.Equal(2, kids.Count); // and its successor is already published
        Assert.Contains(signing, kids);
    }

    [Fact]
    public async Task PrivateKeysAreStoredEncrypted()
    {
        await using var db = await _factory.Services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContextAsync();
        var key = await db.SigningKeys.FirstAsync();
        Assert.Equal(1, key.EncryptedPrivateKey[0]); // our encrypted format
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() =>
        {
            using var ec = System.Security.Cryptography.ECDsa.Create();
            ec.ImportPkcs8PrivateKey(key.EncryptedPrivateKey, out _);
        });
    }

    private static string DecodeHeader(string token) =>
        System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(token.Split('.')[0]));
}
