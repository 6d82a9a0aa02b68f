using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using App.Testing;

namespace App.IntegrationTests;

public class ApiBasicsTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline());

    [Fact]
    public async Task ModelsListsTheConfiguredAliases()
    {
        var json = await Client.GetStringAsync("/v1/models");
        await Contracts.AssertValidAsync(Contracts.Models, json, "model list");
        var ids = JsonDocument.Parse(json).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("gpt", ids);
        Assert.Contains("offline", ids);
        Assert.Contains("minilm", ids);
        // Chat aliases come first, so a client that takes the first model (the page at /) can chat with it.
        Assert.True(ids.IndexOf("gpt") < ids.IndexOf("minilm") && ids.IndexOf("offline") < ids.IndexOf("minilm"), string.Join(", ", ids));
    }

    [Theory]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "temperature", "invalid_type")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"x"}],"logit_bias":{}}""", "logit_bias", "unknown_parameter")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model", "invalid_value")]
    [InlineData("""{"model":"gpt"}""", "messages", "invalid_value")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":5}]}""", "messages[0].content", "invalid_type")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"x"}],"max_tokens":-1}""", "max_tokens", "invalid_value")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"x"}""", null, "invalid_json")]
    public async Task BadRequestsAre400NamingTheFieldAndReachNoUpstream(string body, string? param, string code)
    {
        using var response = await Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ReadAsync(response);
        Assert.Equal("urn:app:problem:invalid-request", problem.GetProperty("type").GetString());
        var error = problem.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(0, Upstream.Requests);
    }

    [Fact]
    public async Task UnknownModelIs404()
    {
        using var response = await PostAsync(Chat("x", model: "nope"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await ReadAsync(response);
        Assert.Equal("model_not_found", problem.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task NonJsonBodyIs415()
    {
        using var response = await Client.PostAsync("/v1/chat/completions", new StringContent("model=gpt", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await ReadAsync(response);
    }

    [Fact]
    public async Task UnknownV1RouteIsAnOpenAiShaped404()
    {
        using var response = await Client.GetAsync("/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ReadAsync(response);
    }

    [Fact]
    public async Task OfflineModelAnswersWithoutAnyNetwork()
    {
        using var response = await PostAsync(Chat("offline please", model: "offline"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.Equal("offline-1", body.GetProperty("model").GetString());
        Assert.Equal(0, Upstream.Requests);
    }

    [Fact]
    public async Task HealthEndpointsAnswer()
    {
        using var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var ready = await ReadyAsync();
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("Closed", ready.GetProperty("checks").GetProperty("circuits").GetProperty("data").GetProperty("gpt/0").GetString());
    }

    [Fact]
    public async Task OpenApiDocumentDescribesTheChatEndpoint()
    {
        var doc = await Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var post = doc.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post");
        Assert.Equal("CreateChatCompletion", post.GetProperty("operationId").GetString());
        Assert.True(post.GetProperty("responses").TryGetProperty("503", out _));
        Assert.True(doc.GetProperty("paths").TryGetProperty("/v1/models", out _));
    }

    [Fact]
    public async Task InDevelopmentTheApiDescriptionAndScalarAreOpenElsewhereTheDescriptionNeedsAToken()
    {
        await using var development = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync()) { EnvironmentName = "Development" };
        using var anonymous = development.CreateClient();
        using (var document = await anonymous.GetAsync("/openapi/v1.json"))
        {
            Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        }

        using (var scalar = await anonymous.GetAsync("/scalar/v1"))
        {
            Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
            Assert.Equal("text/html", scalar.Content.Headers.ContentType?.MediaType);
            // The page loads its scripts from beside it and reads the document at /openapi/v1.json (its script resolves
            // the source against the path the page is served under, less /scalar/v1).
            var page = await scalar.Content.ReadAsStringAsync();
            Assert.Contains("\"url\":\"openapi/v1.json\"", page, StringComparison.Ordinal);
            Assert.Contains("'%2Fscalar%2Fv1'", page, StringComparison.Ordinal);
            foreach (var script in new[] { "/scalar/scalar.js", "/scalar/scalar.aspnetcore.js" })
            {
                using var served = await anonymous.GetAsync(script);
                Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            }
        }

        using var outsider = Factory.CreateClient();
        using (var document = await outsider.GetAsync("/openapi/v1.json"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, document.StatusCode);
        }

        // No UI outside Development, even for a caller with a token.
        using (var scalar = await Client.GetAsync("/scalar/v1"))
        {
            Assert.Equal(HttpStatusCode.NotFound, scalar.StatusCode);
        }
    }

    [Fact]
    public async Task ResponsesCarrySecurityHeaders()
    {
        using var response = await Client.GetAsync("/v1/models");
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", Header(response, "Content-Security-Policy"));
        Assert.False(response.Headers.Contains("Server"));
    }
}
