using App.Infrastructure.Identity;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace App.Api.Hosting;

/// <summary>
/// Remembers our own tokens that validated, until they expire, so a client that sends the same token again does
/// not pay for another ES256 verification. The entry is tied to the key ring as loaded: when the ring changes
/// (a key added, retired or withdrawn) every remembered result is ignored and tokens are validated afresh.
/// Only successful validations are remembered; revocation is checked on every request after this.
/// </summary>
internal sealed class ValidatedTokenCache(SigningKeyRing ring, int maxTokenBytes) : JsonWebTokenHandler, IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 20_000 });

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length > maxTokenBytes)
        {
            return await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        }

        // The ring's load time stands for its content: each reload (every 30 s, or on rotation) starts afresh.
        var key = (ring.IsLoaded ? ring.Current.LoadedAt.UtcTicks : 0L, token);
        if (_cache.TryGetValue(key, out TokenValidationResult? cached) && cached is not null && cached.SecurityToken.ValidTo > DateTime.UtcNow)
        {
            return cached;
        }

        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid && key.Item1 != 0)
        {
            _cache.Set(key, result, new MemoryCacheEntryOptions { AbsoluteExpiration = result.SecurityToken.ValidTo, Size = 1 });
        }

        return result;
    }

    public void Dispose() => _cache.Dispose();
}
