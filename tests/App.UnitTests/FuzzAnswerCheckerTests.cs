using App.Testing.Fuzz;

namespace App.UnitTests;

/// <summary>The fuzz gate's verdict, fed planted bad answers: each must be reported, and good ones must pass.</summary>
public sealed class FuzzAnswerCheckerTests
{
    private const string Problem = """{"type":"urn:app:problem:bad-request","title":"Bad","status":400,"detail":"The member 'model' is missing.","error":{"message":"The member 'model' is missing.","type":"invalid_request_error","param":"model","code":null}}""";

    private static readonly ApiDocument Document = ApiDocument.Parse("""
        {
          "openapi": "3.1.1",
          "paths": {
            "/v1/things/{id}": {
              "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
              "post": {
                "operationId": "PostThing",
                "parameters": [{ "$ref": "#/components/parameters/Limit" }],
                "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
                "responses": { "200": {}, "400": {}, "503": {} }
              }
            },
            "/auth/me": { "get": { "operationId": "Me", "responses": { "200": {}, "4XX": {} } } }
          },
          "components": {
            "parameters": { "Limit": { "name": "limit", "in": "query", "schema": { "type": "integer" } } },
            "schemas": { "Thing": { "type": "object", "properties": { "name": { "type": "string" } } } }
          }
        }
        """);

    private static ApiOperation Thing => Document.Operations.Single(o => o.Id == "PostThing");

    private static FuzzAnswer Answer(int status, string body = Problem, string? mediaType = "application/problem+json", bool retryAfter = false, string sent = "") =>
        new(status, mediaType, body, retryAfter, sent);

    [Fact]
    public void TheDocumentIsReadWithReferencesAndSharedParametersResolved()
    {
        Assert.Equal(["POST", "GET"], Document.Operations.Select(o => o.Method));
        Assert.Equal(["id", "limit"], Thing.Parameters.Select(p => p.Name));
        Assert.Equal("object", (string?)Thing.BodySchema?["type"]);
        Assert.True(Document.Operations.Single(o => o.Id == "Me").Declares(401));
    }

    [Fact]
    public void AWellFormedRefusalPasses() => Assert.Empty(FuzzAnswerChecker.Check(Thing, Answer(400)));

    [Fact]
    public void AnEchoOfWhatTheRequestSentIsNoLeak()
    {
        var body = Problem.Replace("The member 'model' is missing.", "Unknown model '../../etc/passwd'; SELECT * FROM users", StringComparison.Ordinal);
        Assert.Empty(FuzzAnswerChecker.Check(Thing, Answer(400, body, sent: "{\"model\":\"../../etc/passwd'; SELECT * FROM users\"}")));
    }

    [Theory]
    [InlineData(500, false)]
    [InlineData(502, false)]
    [InlineData(503, false)]
    public void AServerErrorFails(int status, bool retryAfter) =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(status, Problem.Replace("400", status.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), retryAfter: retryAfter)), p => p.Contains("server error", StringComparison.Ordinal));

    [Fact]
    public void ADeclaredOverloadWithRetryAfterPasses() =>
        Assert.Empty(FuzzAnswerChecker.Check(Thing, Answer(503, Problem.Replace("400", "503", StringComparison.Ordinal), retryAfter: true)));

    [Fact]
    public void AnUndeclaredStatusFails() =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(404, Problem.Replace("400", "404", StringComparison.Ordinal))), p => p.Contains("status 404 is not declared", StringComparison.Ordinal));

    [Fact]
    public void ARangeOrDefaultDeclaresTheStatus() =>
        Assert.Empty(FuzzAnswerChecker.Check(Document.Operations.Single(o => o.Id == "Me"), Answer(401, """{"status":401,"title":"Unauthorized"}""")));

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData(null)]
    public void AnErrorThatIsNotAProblemFails(string? mediaType) =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, mediaType: mediaType)), p => p.Contains("not application/problem+json", StringComparison.Ordinal));

    [Theory]
    [InlineData("")]
    [InlineData("Bad Request")]
    [InlineData("[]")]
    public void AnErrorWithoutAJsonObjectFails(string body) =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, body)), p => p.Contains("no JSON object", StringComparison.Ordinal));

    [Fact]
    public void OnlyTheTargetsTheHttpParserRefusesMayGetItsEmptyAnswers()
    {
        var longTarget = "/v1/things/x?q=" + new string('9', 9000);
        Assert.Empty(FuzzAnswerChecker.Check(Thing, new FuzzAnswer(400, null, string.Empty, false, Target: "/v1/things/%00")));
        Assert.Empty(FuzzAnswerChecker.Check(Thing, new FuzzAnswer(414, null, string.Empty, false, Target: longTarget)));
        Assert.Contains(FuzzAnswerChecker.Check(Thing, new FuzzAnswer(400, null, string.Empty, false, Target: "/v1/things/%01")), p => p.Contains("not application/problem+json", StringComparison.Ordinal));
        Assert.Contains(FuzzAnswerChecker.Check(Thing, new FuzzAnswer(414, null, string.Empty, false, Target: "/v1/things/x")), p => p.Contains("status 414 is not declared", StringComparison.Ordinal));
        Assert.Contains(FuzzAnswerChecker.Check(Thing, new FuzzAnswer(400, "application/json", "{}", false, Target: "/v1/things/%00")), p => p.Contains("not application/problem+json", StringComparison.Ordinal));
    }

    [Fact]
    public void AnErrorUnderV1WithoutTheOpenAiShapeFails() =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, """{"status":400,"title":"Bad"}""")), p => p.Contains("no OpenAI 'error' member", StringComparison.Ordinal));

    [Fact]
    public void AProblemWhoseStatusDisagreesFails() =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, Problem.Replace("\"status\":400", "\"status\":500", StringComparison.Ordinal))), p => p.Contains("says status 500", StringComparison.Ordinal));

    [Theory]
    [InlineData("   at App.Api.Jobs.JobsApi.SubmitAsync(HttpContext context)", "a stack frame")]
    [InlineData("--- End of stack trace from previous location ---", "a stack frame")]
    [InlineData("in JobsApi.cs:line 42", "a source location")]
    [InlineData("NpgsqlException: connection refused", "an exception type")]
    [InlineData("The JSON value could not be converted to App.Application.OpenAi.WireMessage.", "a .NET type name")]
    [InlineData("could not open /src/App.Api/prompts/x.json", "a file path")]
    [InlineData("could not open C:\\\\build\\\\App.Api.dll", "a file path")]
    [InlineData("23505: duplicate key value violates unique constraint \\\"pk_jobs\\\"", "SQL or a database error")]
    [InlineData("SELECT t.id FROM app.traces AS t WHERE t.tenant = @p0", "SQL or a database error")]
    [InlineData("syntax error at or near \\\"DROP\\\"", "SQL or a database error")]
    [InlineData("Host=10.0.0.5;Port=5432;Username=app;Password=secret;", "a connection string")]
    [InlineData("redis:6379,abortConnect=false,password=x", "a connection string")]
    [InlineData("Failed to read parameter \\\"Answer<AttestationResponse> body\\\" from the request body as JSON.", "a handler's parameter")]
    [InlineData("Implicit body inferred for parameter \\\"body\\\" but no body was provided.", "a handler's parameter")]
    public void InternalDetailInTheBodyFails(string leak, string what)
    {
        var body = Problem.Replace("The member 'model' is missing.", leak, StringComparison.Ordinal);
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, body)), p => p.StartsWith("the body holds " + what, StringComparison.Ordinal));
    }

    [Fact]
    public void ALeakEscapedInJsonIsStillSeen()
    {
        var body = Problem.Replace("The member 'model' is missing.", "\\u0020\\u0020at App.Api.Program.Main()", StringComparison.Ordinal);
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(400, body)), p => p.StartsWith("the body holds a stack frame", StringComparison.Ordinal));
    }

    [Fact]
    public void ALeakInASuccessfulAnswerFailsToo() =>
        Assert.Contains(FuzzAnswerChecker.Check(Thing, Answer(200, """{"name":"System.InvalidOperationException: Sequence contains no elements"}""", "application/json")), p => p.StartsWith("the body holds", StringComparison.Ordinal));
}
