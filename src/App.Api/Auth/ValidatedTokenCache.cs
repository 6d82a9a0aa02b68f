using System.Collections.Concurrent;
using System.Security.Claims;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace App.Api.Auth;

/// <summary>
/// Remembers our own tokens that validated, until they expire, so a client that sends the same token again does
/// not pay for another ES256 verification. An entry is tied to the key ring as loaded: when the ring changes
/// (a key added, retired or withdrawn) every remembered result is ignored and tokens are validated afresh.
/// Only successful validations are remembered; revocation is checked on every request after this.
/// </summary>
/// <remarks>
/// Looked up by the token's characters as they stand in the request header (<see cref="TryGet"/>), so a request
/// with a remembered token copies nothing (<see cref="FirstPartyBearerHandler"/>). At most
/// <see cref="MaxEntries"/> tokens are kept; when full, expired and stale entries are dropped (not more often than
/// <see cref="Prune"/> allows) and a token that still finds no room is validated every time instead of being remembered.
/// </remarks>
internal sealed class ValidatedTokenCache : JsonWebTokenHandler
{
    public const int MaxEntries = 20_000;

    private readonly SigningKeyRing _ring;
    private readonly int _maxTokenBytes;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private long _lastPrune;
    private long _shortcuts;

    public ValidatedTokenCache(SigningKeyRing ring, int maxTokenBytes)
    {
        _ring = ring;
        _maxTokenBytes = maxTokenBytes;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Requests authenticated from a remembered token by <see cref="FirstPartyBearerHandler"/>'s shortcut.</summary>
    public long Shortcuts => Interlocked.Read(ref _shortcuts);

    internal void CountShortcut() => Interlocked.Increment(ref _shortcuts);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length > _maxTokenBytes)
        {
            return await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        }

        if (TryGet(token, out var cached))
        {
            return cached.Result;
        }

        // The ring's load time stands for its content: each reload (periodic, or on rotation) starts afresh.
        var ring = RingVersion;
        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid && ring != 0 && result.ClaimsIdentity is not null && result.SecurityToken is not null)
        {
            Remember(token, new Entry(ring, result));
        }

        return result;
    }

    /// <summary>The remembered validation of <paramref name="token"/>, if it is still current.</summary>
    public bool TryGet(ReadOnlySpan<char> token, out Entry entry)
    {
        if (_bySpan.TryGetValue(token, out entry!) && entry.Ring == RingVersion && entry.ValidTo > DateTime.UtcNow)
        {
            return true;
        }

        entry = null!;
        return false;
    }

    private long RingVersion => _ring.IsLoaded ? _ring.Current.LoadedAt.UtcTicks : 0L;

    private void Remember(string token, Entry entry)
    {
        if (_entries.Count >= MaxEntries && !_entries.ContainsKey(token))
        {
            Prune();
            if (_entries.Count >= MaxEntries)
            {
                return;
            }
        }

        _entries[token] = entry;
    }

    private void Prune()
    {
        var now = DateTime.UtcNow;
        var last = Interlocked.Read(ref _lastPrune);
        if (now.Ticks - last < TimeSpan.TicksPerSecond || Interlocked.CompareExchange(ref _lastPrune, now.Ticks, last) != last)
        {
            return;
        }

        var ring = RingVersion;
        foreach (var pair in _entries)
        {
            if (pair.Value.Ring != ring || pair.Value.ValidTo <= now)
            {
                _entries.TryRemove(pair);
            }
        }
    }

    /// <summary>One remembered validation, and what a request authenticated by it is given.</summary>
    public sealed class Entry
    {
        private readonly AuthenticationProperties _properties;

        public Entry(long ring, TokenValidationResult result)
        {
            ArgumentNullException.ThrowIfNull(result);
            Ring = ring;
            Result = result;
            Identity = result.ClaimsIdentity;
            Token = result.SecurityToken;
            ValidTo = Token.ValidTo;
            // What JwtBearerHandler puts on every ticket, formatted once here rather than on every request.
            _properties = new AuthenticationProperties { ExpiresUtc = Safe(Token.ValidTo), IssuedUtc = Safe(Token.ValidFrom) };
        }

        public long Ring { get; }

        public TokenValidationResult Result { get; }

        public ClaimsIdentity Identity { get; }

        public SecurityToken Token { get; }

        public DateTime ValidTo { get; }

        /// <summary>A fresh copy for one request: handlers and events may change a ticket's properties.</summary>
        public AuthenticationProperties NewProperties() => new(new Dictionary<string, string?>(_properties.Items, StringComparer.Ordinal));

        private static DateTimeOffset? Safe(DateTime value) => value == DateTime.MinValue ? null : new DateTimeOffset(value, TimeSpan.Zero);
    }
}
