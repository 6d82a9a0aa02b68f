using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Testing;

namespace App.IntegrationTests.Identity;

/// <summary>
/// The passkey ceremonies as the page runs them (options, then the authenticator's answer), for tests that need
/// users who signed up or in for real. Each user brings their own <see cref="SoftwareAuthenticator"/>.
/// </summary>
internal sealed class PasskeyCeremonies(GatewayFactory factory)
{
    public const string Origin = "http://localhost:5080";

    public HttpClient Anonymous => factory.CreateClient();

    /// <summary>A client whose requests carry this access token.</summary>
    public HttpClient As(string accessToken)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    public async Task<(string Ceremony, JsonElement Options)> OptionsAsync(string path, object? body = null)
    {
        using var response = await Anonymous.PostAsJsonAsync(path, body ?? new { });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (json.GetProperty("ceremonyId").GetString()!, json.GetProperty("options").Clone());
    }

    public async Task<HttpResponseMessage> AnswerAsync(string path, string ceremony, JsonObject credential) =>
        await Anonymous.PostAsJsonAsync(path, new JsonObject { ["ceremonyId"] = ceremony, ["credential"] = credential.DeepClone() });

    /// <summary>Starts a sign-up with <paramref name="body"/> and answers it with the authenticator's new passkey.</summary>
    public async Task<HttpResponseMessage> RegisterAsync(SoftwareAuthenticator authenticator, object body)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/register/options", body);
        return await AnswerAsync("/auth/passkeys/register", ceremony, authenticator.Register(options, Origin));
    }

    /// <summary>A sign-up that must succeed: its token response.</summary>
    public async Task<JsonElement> SignUpAsync(SoftwareAuthenticator authenticator, object body)
    {
        using var response = await RegisterAsync(authenticator, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A sign-in with the authenticator's passkey that must succeed: its token response.</summary>
    public async Task<JsonElement> SignInAsync(SoftwareAuthenticator authenticator)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        var (ceremony, options) = await OptionsAsync("/auth/passkeys/login/options");
        using var response = await AnswerAsync("/auth/passkeys/login", ceremony, authenticator.Assert(options, Origin));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement> MeAsync(string accessToken)
    {
        using var client = As(accessToken);
        using var response = await client.GetAsync("/auth/me");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
