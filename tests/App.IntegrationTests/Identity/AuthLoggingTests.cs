using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using App.Application.Identity;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace App.IntegrationTests.Identity;

/// <summary>
/// Every authentication event and every refused authorization is logged, and no log event carries a token: not in
/// its message, not in any property, not even when the token came in the query string.
/// </summary>
public sealed class AuthLoggingTests : GatewayTest
{
    private readonly CapturingSink _sink = new();
    private readonly SoftwareAuthenticator _authenticator = new();

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Serilog:MinimumLevel:Default", "Information")
        .With("Auth:RefreshReuseGrace", "00:00:00");

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILogEventSink>(_sink);

    public override async Task DisposeAsync()
    {
        _authenticator.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task AuthenticationEventsAndRefusalsAreLoggedWithoutTokens()
    {
        var ceremonies = new PasskeyCeremonies(Factory);
        var signUp = await ceremonies.SignUpAsync(_authenticator, new { tenant = Tenant, userName = "alice" });
        var signIn = await ceremonies.SignInAsync(_authenticator);
        var access = signIn.GetProperty("access_token").GetString()!;
        var refresh = signIn.GetProperty("refresh_token").GetString()!;

        using (var rotated = await ceremonies.Anonymous.PostAsJsonAsync("/auth/refresh", new { refresh_token = refresh }))
        {
            Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        }

        // Reusing the rotated refresh token revokes the session (no grace window here).
        using (var reused = await ceremonies.Anonymous.PostAsJsonAsync("/auth/refresh", new { refresh_token = refresh }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        }

        using (var logout = await ceremonies.Anonymous.PostAsJsonAsync("/auth/logout", new { refresh_token = signUp.GetProperty("refresh_token").GetString() }))
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        // A forged token (the real one with its signature cut off and another put on), one in the query string, and
        // a valid token without the scope the endpoint needs.
        var forged = access[..(access.LastIndexOf('.') + 1)] + "AAAA" + access[(access.LastIndexOf('.') + 1)..];
        using (var bad = ceremonies.As(forged))
        using (var refused = await bad.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var valid = Factory.MintToken(Tenant, "bob", [Scopes.ChatInvoke]);
        using (var inQuery = await ceremonies.Anonymous.GetAsync("/v1/models?access_token=" + valid))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, inQuery.StatusCode);
        }

        using (var bob = ceremonies.As(valid))
        using (var forbidden = await bob.GetAsync("/v1/traces"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        var events = await _sink.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("Authorization failed", StringComparison.Ordinal));
        Assert.Contains(events, e => e.MessageTemplate.Text.StartsWith("Passkey registered", StringComparison.Ordinal));
        Assert.Contains(events, e => e.MessageTemplate.Text.StartsWith("Passkey sign-in", StringComparison.Ordinal));
        Assert.True(events.Count(e => e.MessageTemplate.Text.StartsWith("Session {SessionId} started", StringComparison.Ordinal)) >= 2, "a session per sign-up and sign-in");
        Assert.Contains(events, e => e.MessageTemplate.Text.StartsWith("Refresh token reuse", StringComparison.Ordinal));
        Assert.Contains(events, e => e.MessageTemplate.Text.Contains("ended by logout", StringComparison.Ordinal));
        Assert.True(events.Count(e => e.MessageTemplate.Text.StartsWith("Authentication failed", StringComparison.Ordinal)) >= 2, "the forged token and the one in the query string");
        var authorization = Assert.Single(events, e => e.MessageTemplate.Text.StartsWith("Authorization failed", StringComparison.Ordinal));
        Assert.Equal("\"bob\"", authorization.Properties["Subject"].ToString());
        Assert.Equal($"\"{Tenant}\"", authorization.Properties["TenantId"].ToString());
        Assert.Contains(Scopes.TracesRead, authorization.Properties["Requirement"].ToString(), StringComparison.Ordinal);
        Assert.Equal("\"/v1/traces\"", authorization.Properties["Path"].ToString());

        // No token, nor the secret part of one, in anything logged.
        string[] secrets =
        [
            access, refresh, forged, valid, signUp.GetProperty("access_token").GetString()!, signUp.GetProperty("refresh_token").GetString()!,
            access[(access.LastIndexOf('.') + 1)..], valid[(valid.LastIndexOf('.') + 1)..], refresh[3..],
        ];
        foreach (var e in events)
        {
            var text = e.RenderMessage() + " " + string.Join(' ', e.Properties.Select(p => p.Value.ToString())) + " " + e.Exception;
            Assert.DoesNotContain(secrets, s => text.Contains(s, StringComparison.Ordinal));
        }
    }

    private sealed class CapturingSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        /// <summary>Everything logged so far, once an event matching <paramref name="until"/> is among it (request logs are written as responses end).</summary>
        public async Task<LogEvent[]> WaitForAsync(Func<LogEvent, bool> until)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!_events.Any(until) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            // A moment more for the request logs of the last requests.
            await Task.Delay(200);
            return [.. _events];
        }
    }
}
