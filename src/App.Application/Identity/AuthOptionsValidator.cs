using Microsoft.Extensions.Options;

namespace App.Application.Identity;

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!options.Issuer.IsAbsoluteUri)
        {
            errors.Add("Auth:Issuer must be an absolute URL.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            errors.Add("Auth:Audience is required.");
        }

        if (options.AccessTokenLifetime <= TimeSpan.Zero || options.AccessTokenLifetime > TimeSpan.FromMinutes(5))
        {
            errors.Add("Auth:AccessTokenLifetime must be positive and at most 00:05:00.");
        }

        if (options.RefreshTokenLifetime < TimeSpan.FromMinutes(5))
        {
            errors.Add("Auth:RefreshTokenLifetime must be at least 00:05:00.");
        }

        if (options.RefreshReuseGrace < TimeSpan.Zero || options.RefreshReuseGrace > TimeSpan.FromMinutes(1))
        {
            errors.Add("Auth:RefreshReuseGrace must be between 0 and 00:01:00.");
        }

        if (options.SigningKeyLifetime < TimeSpan.FromMinutes(10))
        {
            errors.Add("Auth:SigningKeyLifetime must be at least 00:10:00.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromSeconds(30))
        {
            errors.Add("Auth:ClockSkew must be between 0 and 00:00:30.");
        }

        if (options.MaxTokenBytes is < 512 or > 65536)
        {
            errors.Add("Auth:MaxTokenBytes must be between 512 and 65536.");
        }

        if (options.RateLimitPerMinute < 1)
        {
            errors.Add("Auth:RateLimitPerMinute must be at least 1.");
        }

        if (options.MetadataRefreshInterval < TimeSpan.FromSeconds(1) || options.MetadataRefreshInterval > TimeSpan.FromHours(1))
        {
            errors.Add("Auth:MetadataRefreshInterval must be between 00:00:01 and 01:00:00.");
        }

        if (options.UnknownKeyRefreshInterval < TimeSpan.FromSeconds(1) || options.UnknownKeyRefreshInterval > options.MetadataRefreshInterval)
        {
            errors.Add("Auth:UnknownKeyRefreshInterval must be at least 00:00:01 and at most Auth:MetadataRefreshInterval.");
        }

        foreach (var scope in Scopes.Unknown(Scopes.Parse(options.DefaultScopes)))
        {
            errors.Add($"Auth:DefaultScopes: '{scope}' is not a known scope.");
        }

        for (var i = 0; i < options.ExternalIssuers.Count; i++)
        {
            var e = options.ExternalIssuers[i];
            var key = $"Auth:ExternalIssuers:{i}";
            if (string.IsNullOrWhiteSpace(e.Name) || !e.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                errors.Add($"{key}:Name is required: letters, digits, '-' or '_'.");
            }

            if (e.Authority is not { IsAbsoluteUri: true })
            {
                errors.Add($"{key}:Authority must be an absolute URL.");
            }

            if (string.IsNullOrWhiteSpace(e.Audience))
            {
                errors.Add($"{key}:Audience is required.");
            }

            if (e.TokenTypes.Count == 0)
            {
                errors.Add($"{key}:TokenTypes must list at least one accepted typ.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
