using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests;

/// <summary>
/// Values a database cannot store (a NUL, a value longer than its column), a member sent twice, text that is not
/// Unicode: each is a 400 naming the field where it enters, and none of them costs anyone else a trace.
/// </summary>
public class StrayInputTests : GatewayTest
{
    private const string NulModel = "gpt\\u0000";

    private async Task<HttpResponseMessage> PostRawAsync(string path, string json, HttpClient? client = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await (client ?? Client).SendAsync(request);
    }

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await ReadAsync(response)).GetProperty("error");
    }

    private Task<List<string>> StoredModelsAsync(string user) =>
        Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Traces.Where(t => t.UserId == user).Select(t => t.ModelAlias).ToListAsync(), default);

    // Before: the NUL reached the trace, PostgreSQL refused the row and the writer dropped the whole batch of the
    // tenant, other users' traces with it.
    [Fact]
    public async Task AModelNameThePoolCannotStoreIsRefusedAndCostsNoOneElseATrace()
    {
        using var other = Factory.CreateClientFor(Tenant, "user-2");
        var calls = Enumerable.Range(0, 30).Select(i => PostRawAsync("/v1/chat/completions", Chat($"call {i}", temperature: 0.7).ToJsonString(), other)).ToList();
        using var nul = await PostRawAsync("/v1/chat/completions", $$"""{"model":"{{NulModel}}","messages":[{"role":"user","content":"hi"}]}""");
        using var tooLong = await PostRawAsync("/v1/chat/completions", Chat("hi", model: new string('m', 65)).ToJsonString());
        foreach (var call in calls)
        {
            using var response = await call;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var nulError = await ErrorOf(nul);
        Assert.Equal("model", nulError.GetProperty("param").GetString());
        Assert.Contains("control characters", nulError.GetProperty("message").GetString(), StringComparison.Ordinal);
        var longError = await ErrorOf(tooLong);
        Assert.Equal("model", longError.GetProperty("param").GetString());
        Assert.Contains("at most 64 characters", longError.GetProperty("message").GetString(), StringComparison.Ordinal);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await StoredModelsAsync("user-2")).Count < 30 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(30, (await StoredModelsAsync("user-2")).Count);
        Assert.Empty(await StoredModelsAsync("user-1"));
    }

    // Before: 500 from the job's insert (varchar(64), NUL) and from the trace filters (NUL in a query parameter).
    [Fact]
    public async Task StrayCharactersInAJobOrAFilterAre400NamingTheField()
    {
        using var jobs = Factory.CreateClientFor(Tenant, "user-1", Scopes.JobsWrite, Scopes.TracesRead);
        using var job = await PostRawAsync("/v1/jobs", $$$"""{"request":{"model":"{{{NulModel}}}","messages":[{"role":"user","content":"hi"}]}}""", jobs, "stray-1");
        Assert.Equal("request.model", (await ErrorOf(job)).GetProperty("param").GetString());
        using var longJob = await PostRawAsync("/v1/jobs", $"{{\"requests\":[{Chat("ok").ToJsonString()},{Chat("hi", model: new string('m', 300)).ToJsonString()}]}}", jobs, "stray-2");
        Assert.Equal("requests[1].model", (await ErrorOf(longJob)).GetProperty("param").GetString());

        foreach (var path in new[] { "/v1/traces?model=%00", "/v1/traces/export?model=a%00b", $"/v1/traces?model={new string('m', 65)}" })
        {
            using var response = await jobs.GetAsync(path);
            Assert.Equal("model", (await ErrorOf(response)).GetProperty("param").GetString());
        }

        var stored = await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Jobs.CountAsync(), default);
        Assert.Equal(0, stored);
    }

    // Last-wins would let the gateway check one value while a provider reads the other.
    [Theory]
    [InlineData("""{"model":"gpt","model":"other","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","role":"system","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}""", "text")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","type":"string"}}}}""", "type")]
    public async Task AMemberSentTwiceIsRefusedByName(string json, string member)
    {
        using var response = await PostRawAsync("/v1/chat/completions", json);
        var error = await ErrorOf(response);
        Assert.Equal("duplicate_member", error.GetProperty("code").GetString());
        Assert.EndsWith(member, error.GetProperty("param").GetString(), StringComparison.Ordinal);
        Assert.Contains("more than once", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMemberSentTwiceIsRefusedOnTheOtherEndpointsToo()
    {
        using var jobs = Factory.CreateClientFor(Tenant, "user-1", Scopes.JobsWrite);
        var request = Chat("hi").ToJsonString();
        using var job = await PostRawAsync("/v1/jobs", $$"""{"request":{{request}},"request":{{request}}}""", jobs, "dup-1");
        Assert.Equal("duplicate_member", (await ErrorOf(job)).GetProperty("code").GetString());

        using var anonymous = Factory.CreateClient();
        using var refresh = await anonymous.PostAsync("/auth/refresh", new StringContent("""{"refresh_token":"a","refresh_token":"b"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        // Refused while reading the body, not as a refresh token that does not exist.
        Assert.Equal("urn:app:problem:bad-request", (await refresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"\ud800"}]}""", "messages[0].content")]
    [InlineData("""{"model":"gpt","messages":[{"role":"user","content":"ok\udc00ok"}]}""", "messages[0].content")]
    [InlineData("""{"model":"\udbff","messages":[{"role":"user","content":"hi"}]}""", "model")]
    public async Task ALoneSurrogateIsNamedForWhatItIs(string json, string param)
    {
        using var response = await PostRawAsync("/v1/chat/completions", json);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_unicode", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains("lone surrogate", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BytesThatAreNotUtf8AreNamedForWhatTheyAre()
    {
        var body = new List<byte>(Encoding.UTF8.GetBytes("""{"model":"gpt","messages":[{"role":"user","content":"a"""));
        body.AddRange([0xC3, 0x28]);
        body.AddRange(Encoding.UTF8.GetBytes("\"}]}"));
        using var content = new ByteArrayContent([.. body]);
        content.Headers.ContentType = new("application/json");
        using var response = await Client.PostAsync("/v1/chat/completions", content);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_unicode", error.GetProperty("code").GetString());
        Assert.Contains("UTF-8", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RightToLeftMarksAndEmojiAreOrdinaryText()
    {
        using var response = await PostRawAsync("/v1/chat/completions", Chat("\u200F\u202Eabc \U0001F600").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var unknown = await PostRawAsync("/v1/chat/completions", Chat("hi", model: "gpt\u200F\U0001F600").ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var body = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("model", body.GetProperty("error").GetProperty("param").GetString());
    }
}
