using System.Net;
using App.Infrastructure.Identity;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Identity;

/// <summary>Revocations answered from memory on every instance, kept in step through Redis pub/sub.</summary>
public class RevocationMirrorTests : GatewayTest
{
    [Fact]
    public async Task ARevocationOnOneInstanceIsEnforcedAtOnceOnAnother()
    {
        await using var other = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), Configure(new Settings().With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")));
        var session = "sess-" + Guid.NewGuid().ToString("N")[..12];
        var token = Factory.MintToken(Tenant, "user-1", [App.Application.Identity.Scopes.ChatInvoke], session);
        using var here = Factory.CreateDefaultClient();
        using var there = other.CreateDefaultClient();
        here.DefaultRequestHeaders.Authorization = new("Bearer", token);
        there.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await here.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await there.GetAsync("/v1/models")).StatusCode);
        await WaitAsync(() => Factory.Services.GetRequiredService<RevocationList>().InSync && other.Services.GetRequiredService<RevocationList>().InSync);

        await Factory.Services.GetRequiredService<RevocationList>().RevokeSessionAsync(session);
        Assert.Equal(HttpStatusCode.Unauthorized, (await here.GetAsync("/v1/models")).StatusCode);
        var refused = false;
        for (var i = 0; i < 50 && !refused; i++)
        {
            refused = (await there.GetAsync("/v1/models")).StatusCode == HttpStatusCode.Unauthorized;
            if (!refused)
            {
                await Task.Delay(20);
            }
        }

        Assert.True(refused, "the other instance never heard of the revocation");
    }

    [Fact]
    public async Task AnInstanceStartedAfterARevocationLoadsItFromRedis()
    {
        var session = "sess-" + Guid.NewGuid().ToString("N")[..12];
        await Factory.Services.GetRequiredService<RevocationList>().RevokeSessionAsync(session);
        await using var later = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), Configure(new Settings().With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")));
        using var client = later.CreateDefaultClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", later.MintToken(Tenant, "user-1", [App.Application.Identity.Scopes.ChatInvoke], session));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);
        await WaitAsync(() => later.Services.GetRequiredService<RevocationList>().InSync);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition());
    }
}
