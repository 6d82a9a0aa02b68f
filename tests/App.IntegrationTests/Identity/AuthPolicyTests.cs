using System.Net;
using System.Net.Http.Json;
using App.Testing;

namespace App.IntegrationTests.Identity;

/// <summary>Brute-force protection on the session endpoints.</summary>
public class AuthRateLimitTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings).With("Auth:RateLimitPerMinute", "3");

    [Fact]
    public async Task TheSessionEndpointsAnswer429WithRetryAfterPastTheLimit()
    {
        var anonymous = Factory.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await anonymous.PostAsJsonAsync("/auth/refresh", new { refresh_token = "rt_guess" + i });
            Assert.Equal(HttpStatusCode.Unauthorized, allowed.StatusCode);
        }

        using var limited = await anonymous.PostAsJsonAsync("/auth/refresh", new { refresh_token = "rt_guess" });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);

        using var ceremony = await anonymous.PostAsJsonAsync("/auth/passkeys/login/options", new { });
        Assert.Equal(HttpStatusCode.TooManyRequests, ceremony.StatusCode);

        // The API itself is not behind this limiter.
        using var api = await Client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }
}

/// <summary>With invite-only sign-up, the passkey registration is closed.</summary>
public class InviteOnlyTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings).With("Auth:SignUp", "InviteOnly");

    [Fact]
    public async Task SignUpIsRefused()
    {
        using var response = await Factory.CreateClient().PostAsJsonAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("urn:app:problem:sign-up-closed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
