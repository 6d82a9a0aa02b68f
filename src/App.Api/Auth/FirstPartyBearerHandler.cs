using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace App.Api.Auth;

/// <summary>
/// JwtBearer for our own tokens, with a shortcut for a token validated before (<see cref="ValidatedTokenCache"/>):
/// the token is looked up where it stands in the header, because JwtBearer's own path would copy it, clone the
/// validation parameters and format the ticket's dates on every request before finding the remembered result
/// (docs/benchmarks-history.md).
/// </summary>
/// <remarks>
/// The request is given exactly what JwtBearer gives it: the same events (<c>MessageReceived</c> and
/// <c>TokenValidated</c>, so the query-string refusal and the revocation check still run), a principal over the
/// validated identity, the token, and the ticket's dates. Anything else (no header, an unknown, expired or oversized
/// token, a token an event supplies) takes JwtBearer's path unchanged.
/// </remarks>
internal sealed class FirstPartyBearerHandler(IOptionsMonitor<JwtBearerOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : JwtBearerHandler(options, logger, encoder)
{
    private const string Bearer = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Options.TokenHandlers is not [ValidatedTokenCache cache] || !TryRemembered(cache, out var entry))
        {
            return await base.HandleAuthenticateAsync();
        }

        var received = new MessageReceivedContext(Context, Scheme, Options);
        await Events.MessageReceived(received);
        if (received.Result is not null)
        {
            return received.Result;
        }

        if (received.Token is not null)
        {
            // An event chose the token itself: JwtBearer's path takes it from there (running the event again).
            return await base.HandleAuthenticateAsync();
        }

        var validated = new TokenValidatedContext(Context, Scheme, Options)
        {
            Principal = new ClaimsPrincipal(entry.Identity),
            SecurityToken = entry.Token,
            Properties = entry.NewProperties(),
        };
        await Events.TokenValidated(validated);
        if (validated.Result is not null)
        {
            return validated.Result;
        }

        validated.Success();
        cache.CountShortcut();
        return validated.Result!;
    }

    /// <summary>The header as JwtBearer reads it: one value, "Bearer " in any case, the token trimmed.</summary>
    private bool TryRemembered(ValidatedTokenCache cache, out ValidatedTokenCache.Entry entry)
    {
        entry = null!;
        var values = Request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } header || !header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var token = header.AsSpan(Bearer.Length).Trim();
        return !token.IsEmpty && cache.TryGet(token, out entry);
    }
}
