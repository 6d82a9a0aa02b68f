using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace App.IntegrationTests.Identity;

/// <summary>
/// An external issuer's tenant and subject reach PostgreSQL columns of bounded length: a token whose values those
/// columns cannot hold, or that carry control characters, is refused before anything is written, and the refusal is
/// logged with its reason but without the token or the value.
/// </summary>
public sealed class ExternalIssuerClaimTests : GatewayTest
{
    private readonly CapturingSink _sink = new();
    private FakeOidcIssuer _issuer = null!;

    protected override async Task StartMoreServersAsync() => _issuer = await FakeOidcIssuer.StartAsync();

    protected override Settings Configure(Settings settings) => _issuer.Configure(base.Configure(settings))
        .With("Serilog:MinimumLevel:Default", "Information");

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILogEventSink>(_sink);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    private async Task<HttpStatusCode> CallAsync(object org, object sub)
    {
        var token = _issuer.Token("gateway", new Dictionary<string, object> { ["sub"] = sub, ["org"] = org, ["scp"] = new[] { "chat:invoke" } });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Factory.CreateClient().SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Tenants the <c>tenants</c> columns cannot hold or should not, by what is wrong with them.</summary>
    private static readonly Dictionary<string, string> BadTenants = new()
    {
        ["a NUL"] = "ac\0me",
        ["65 characters"] = new string('t', 65),
        ["a leading space"] = " acme",
        ["a trailing tab"] = "acme\t",
        ["an escape character"] = "ac\u001bme",
        ["nothing"] = string.Empty,
    };

    /// <summary>Subjects the <c>sub</c> columns cannot hold or should not, by what is wrong with them.</summary>
    private static readonly Dictionary<string, string> BadSubjects = new()
    {
        ["a NUL"] = "user\0one",
        ["129 characters"] = new string('s', 129),
        ["a line feed"] = "user\none",
    };

    [Fact]
    public async Task TheLongestTenantAndSubjectTheColumnsHoldAreAccepted() =>
        Assert.Equal(HttpStatusCode.OK, await CallAsync(new string('t', 64), new string('s', 128)));

    [Theory]
    [InlineData("a NUL")]
    [InlineData("65 characters")]
    [InlineData("a leading space")]
    [InlineData("a trailing tab")]
    [InlineData("an escape character")]
    [InlineData("nothing")]
    public async Task AnExternalTenantIsRefusedWith(string what) =>
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(BadTenants[what], "external-user"));

    [Theory]
    [InlineData("a NUL")]
    [InlineData("129 characters")]
    [InlineData("a line feed")]
    public async Task AnExternalSubjectIsRefusedWith(string what) =>
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync("acme", BadSubjects[what]));

    [Fact]
    public async Task ATokenNamingTwoTenantsOrTwoSubjectsIsRefused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(new[] { "acme", "globex" }, "external-user"));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync("acme", new[] { "external-user", "another-user" }));
    }

    [Fact]
    public async Task ARefusedClaimIsLoggedWithItsReasonButNeitherTheTokenNorTheValue()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(BadTenants["65 characters"], "external-user"));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync("acme", BadSubjects["129 characters"]));

        static bool IsFailure(LogEvent e) => e.MessageTemplate.Text.StartsWith("Authentication failed", StringComparison.Ordinal);
        var events = await _sink.WaitForAsync(IsFailure, 2);
        var reasons = events.Where(IsFailure).Select(e => e.Properties["Reason"].ToString()).ToList();
        Assert.Contains(reasons, r => r.Contains("tenant", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("subject", StringComparison.Ordinal));
        foreach (var e in events)
        {
            var text = e.RenderMessage() + " " + string.Join(' ', e.Properties.Select(p => p.Value.ToString())) + " " + e.Exception;
            Assert.DoesNotContain(BadTenants["65 characters"], text, StringComparison.Ordinal);
            Assert.DoesNotContain(BadSubjects["129 characters"], text, StringComparison.Ordinal);
            Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal); // the start of every JWT
        }
    }

    private sealed class CapturingSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        /// <summary>Everything logged so far, once <paramref name="count"/> events match <paramref name="match"/> or a few seconds have passed.</summary>
        public async Task<LogEvent[]> WaitForAsync(Func<LogEvent, bool> match, int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_events.Count(match) < count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            return [.. _events];
        }
    }
}
