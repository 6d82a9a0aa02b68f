using App.Application.Identity;
using Microsoft.Extensions.Options;

namespace App.Api.Auth;

/// <summary>
/// Outside Development an external issuer's authority must be HTTPS: its metadata and signing keys are fetched
/// from it, and over HTTP anyone on the path could hand us keys of their own. Refused at start-up, naming the key,
/// rather than at the first request.
/// </summary>
internal sealed class HttpsAuthorities(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    /// <summary>Whether metadata and keys may be fetched over plain HTTP: local development and tests only.</summary>
    public static bool AllowsHttpMetadata(IHostEnvironment environment) => environment.IsDevelopment() || environment.IsEnvironment("Testing");

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (AllowsHttpMetadata(environment))
        {
            return ValidateOptionsResult.Success;
        }

        var errors = options.ExternalIssuers
            .Select((issuer, i) => (issuer, i))
            .Where(x => x.issuer.Authority is { IsAbsoluteUri: true } a && a.Scheme != Uri.UriSchemeHttps)
            .Select(x => $"Auth:ExternalIssuers:{x.i}:Authority must use https outside Development (its metadata and signing keys are fetched from it).")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
