using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using App.Testing.Fuzz;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace App.IntegrationTests.Fuzz;

/// <summary>
/// The suite's stand-in for the DAST scan of the preview environment: the document the running service serves drives
/// generated hostile requests at every operation in it, and every answer is held to <see cref="FuzzAnswerChecker"/>.
/// The seed is fixed (<c>APP_FUZZ_SEED</c> replays another) and each failure names it.
/// </summary>
public sealed class OpenApiFuzzTests(FuzzedService service, ITestOutputHelper output) : IClassFixture<FuzzedService>
{
    private const int CasesPerOperation = 40;
    private const ulong DefaultSeed = 20_261_207;

    private static ulong Seed => ulong.TryParse(Environment.GetEnvironmentVariable("APP_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : DefaultSeed;

    private HttpClient Client => service.Client;

    private string Token => service.Token;

    [Fact]
    public async Task TheDocumentTakesATokenOutsideDevelopment()
    {
        using var anonymous = await Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        var document = await DocumentAsync();
        Assert.Contains(document.Operations, o => o.Id == "CreateChatCompletion");
    }

    [Fact]
    public async Task NoOperationAnswersHostileInputWithAServerErrorALeakAnUndeclaredStatusOrAnythingButAProblem()
    {
        var document = await DocumentAsync();
        Assert.True(document.Operations.Count >= 20, $"the document lists {document.Operations.Count} operations");
        var failures = new List<(string Rule, string Example)>();
        var statuses = new SortedDictionary<int, int>();
        foreach (var operation in document.Operations)
        {
            failures.AddRange(await FuzzAsync(document, operation, statuses));
        }

        output.WriteLine($"{document.Operations.Count} operations, {CasesPerOperation} cases each, seed {Seed}; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}"))}");
        // One line per operation and broken rule, with its first example: hundreds of answers often share one cause.
        var grouped = failures.GroupBy(f => f.Rule).Select(g => $"{g.Key} (x{g.Count()})\n{g.First().Example}");
        Assert.True(failures.Count == 0, $"seed {Seed} (APP_FUZZ_SEED={Seed} replays it), {failures.Count} answers broke the rules:\n" + string.Join("\n", grouped));
        // The generated requests reached the handlers' own refusals, not only the authentication in front of them.
        Assert.True(statuses.GetValueOrDefault(400) > document.Operations.Count, "too few requests were refused as bad input: the generators no longer reach the handlers");
    }

    [Fact]
    public async Task AStatusTheDocumentDoesNotDeclareFailsTheGate()
    {
        var live = await DocumentAsync();
        var json = JsonNode.Parse(await DocumentTextAsync())!;
        json["paths"]!["/v1/chat/completions"]!["post"]!["responses"]!.AsObject().Remove("400");
        var planted = ApiDocument.Parse(json.ToJsonString());
        var operation = planted.Operations.Single(o => o.Id == "CreateChatCompletion");
        Assert.Contains("400", live.Operations.Single(o => o.Id == "CreateChatCompletion").Statuses);

        var failures = await FuzzAsync(planted, operation, new SortedDictionary<int, int>());

        Assert.Contains(failures, f => f.Rule.Contains("status 400 is not declared", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryOperationDeclaresTheRefusalsOfItsPipeline()
    {
        var operations = (await DocumentAsync()).Operations.ToDictionary(o => o.Id);

        Assert.Equal(["200", "400", "401", "403", "404"], operations["GetTrace"].Statuses.Order(StringComparer.Ordinal));
        Assert.Equal(["200", "400", "401", "403"], operations["ListTraces"].Statuses.Order(StringComparer.Ordinal));
        Assert.Equal(["200", "401", "403"], operations["ListModels"].Statuses.Order(StringComparer.Ordinal));
        Assert.Superset(new HashSet<string> { "202", "400", "401", "403", "413", "415" }, new HashSet<string>(operations["SubmitJob"].Statuses));
        Assert.Superset(new HashSet<string> { "200", "400", "401", "404", "413", "415", "429" }, new HashSet<string>(operations["RunPrompt"].Statuses));
        Assert.DoesNotContain("401", operations["Jwks"].Statuses);
        // A status declared by hand must not hide the success the handler's return type declares.
        Assert.All(operations.Values, o => Assert.Contains(o.Statuses, s => s.StartsWith('2')));
    }

    [Theory]
    [InlineData("GET", "/v1/traces?from=yesterday", null, "The value of 'from' is not valid.")]
    [InlineData("POST", "/admin/invitations", "{\"scopes\":5}", "The request body is not valid JSON for this operation (at $.scopes).")]
    [InlineData("POST", "/auth/passkeys/register/options", "[", "The request body is not valid JSON for this operation")]
    public async Task ABindingRefusalNamesWhatTheClientSentNotTheHandlersParameters(string method, string target, string? body, string detail)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), target) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(detail, (string?)JsonNode.Parse(text)?["detail"], StringComparison.Ordinal);
        Assert.DoesNotContain("parameter \"", text, StringComparison.Ordinal);
    }

    private async Task<List<(string Rule, string Example)>> FuzzAsync(ApiDocument document, ApiOperation operation, SortedDictionary<int, int> statuses)
    {
        var seed = Seed ^ StableHash(operation.Id);
        var requests = FuzzInputs.For(document, operation, FuzzedService.BodyLimit).Sample(20, new FsCheck.Rnd(seed), CasesPerOperation);
        var failures = new List<(string Rule, string Example)>();
        foreach (var request in requests)
        {
            FuzzAnswer answer;
            try
            {
                answer = await SendAsync(request);
            }
            catch (HttpRequestException e)
            {
                failures.Add(($"{operation}: no answer ({e.InnerException?.Message ?? e.Message})", $"    request: {request}"));
                continue;
            }

            statuses[answer.Status] = statuses.GetValueOrDefault(answer.Status) + 1;
            foreach (var broken in FuzzAnswerChecker.Check(operation, answer))
            {
                failures.Add(($"{operation}: {Rule(broken)}", $"    {broken}\n    request: {request}\n    answer: {answer.Status} {answer.MediaType} {FuzzAnswerChecker.Excerpt(answer.Body)}"));
            }
        }

        return failures;
    }

    /// <summary>The rule a verdict names, without the detail that differs from answer to answer.</summary>
    private static string Rule(string verdict) => verdict.Split(':')[0].Split(" (declared")[0];

    private async Task<FuzzAnswer> SendAsync(FuzzRequest request)
    {
        // A connection of its own: an answer the server gives before reading a whole body ends the connection, and a
        // request sent on it next would be reported as unanswered.
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.PathAndQuery) { Headers = { ConnectionClose = true } };
        if (request.WithToken)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        if (request.IdempotencyKey is not null)
        {
            message.Headers.TryAddWithoutValidation("Idempotency-Key", request.IdempotencyKey);
        }

        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        using var response = await Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        // Streams are cut short: a leak or an error shape shows in their first bytes.
        var body = await ReadAtMostAsync(response, 64 * 1024);
        var bodyText = request.Body is null ? string.Empty : Encoding.UTF8.GetString(request.Body);
        var sent = string.Join('\n', [request.PathAndQuery, Uri.UnescapeDataString(request.PathAndQuery), bodyText, .. request.Values]);
        return new FuzzAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, response.Headers.RetryAfter is not null, sent, request.PathAndQuery);
    }

    private static async Task<string> ReadAtMostAsync(HttpResponseMessage response, int limit)
    {
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[limit];
        var read = 0;
        int n;
        while (read < limit && (n = await stream.ReadAsync(buffer.AsMemory(read))) > 0)
        {
            read += n;
        }

        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private async Task<ApiDocument> DocumentAsync() => ApiDocument.Parse(await DocumentTextAsync());

    private async Task<string> DocumentTextAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>FNV-1a of the operation's id: a per-operation seed that does not change between runs or processes.</summary>
    private static ulong StableHash(string text)
    {
        var hash = 14_695_981_039_346_656_037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1_099_511_628_211UL;
        }

        return hash;
    }
}
