using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace App.Infrastructure.Identity;

/// <summary>
/// An external issuer's metadata and signing keys, kept fresh enough to follow the issuer's key rotation. Keys older
/// than <c>maxAge</c> are read again before the next token is validated with them, so a key the issuer withdrew stops
/// working within that time; a token under an unknown <c>kid</c> makes them be read again at once, so a new key works
/// within seconds; and a fetch never starts sooner than <c>leastGap</c> after the previous one ended, so a flood of
/// forged kids cannot hammer the issuer. A failed fetch keeps the keys in hand. IdentityModel's own manager cannot do
/// this: its periodic refresh has a floor far above a useful bound and its refresh on an unknown kid is rate-limited
/// by the same long interval after the first one.
/// </summary>
public sealed partial class IssuerMetadataManager : BaseConfigurationManager, IConfigurationManager<OpenIdConnectConfiguration>
{
    /// <summary>The named HttpClient that fetches metadata and keys.</summary>
    public const string HttpClientName = "issuer-metadata";

    /// <summary>Longest a whole fetch (discovery document and keys) may take before it counts as failed.</summary>
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest a request waits for a fetch in flight before it is validated with the keys in hand: a slow issuer must
    /// not hold every request up.
    /// </summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(2);

    private readonly string _issuer;
    private readonly Func<IDocumentRetriever> _documents;
    private readonly TimeSpan _maxAge;
    private readonly TimeSpan _leastGap;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    private OpenIdConnectConfiguration? _current;
    private long _currentFetchedAt;
    private long? _lastFetchEndedAt;
    private Task? _fetch;
    private int _failures;
    private long _lastWarningAt;

    /// <param name="issuer">The issuer's configured name, for logs.</param>
    /// <param name="metadataAddress">Its discovery document (<c>.well-known/openid-configuration</c>).</param>
    /// <param name="documents">Gives a retriever per fetch (an HttpClient from the factory is meant to be short-lived).</param>
    /// <param name="maxAge">Oldest the keys may be when a token is validated with them, if the issuer answers.</param>
    /// <param name="leastGap">Least time between the end of one fetch and the start of the next.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where failed fetches are reported.</param>
    public IssuerMetadataManager(string issuer, string metadataAddress, Func<IDocumentRetriever> documents, TimeSpan maxAge, TimeSpan leastGap, TimeProvider time, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metadataAddress);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leastGap, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAge, leastGap);
        _issuer = issuer;
        _documents = documents;
        _maxAge = maxAge;
        _leastGap = leastGap;
        _time = time;
        _logger = logger;
        MetadataAddress = metadataAddress;
        // Otherwise IdentityModel retries a failed validation with earlier metadata, keys the issuer withdrew included.
        UseLastKnownGoodConfiguration = false;
    }

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        Task? fetch;
        bool bootstrapping;
        lock (_lock)
        {
            var stale = _current is null || _time.GetElapsedTime(_currentFetchedAt) >= _maxAge;
            if (!stale && _fetch is null)
            {
                return _current!;
            }

            if (stale)
            {
                StartFetchIfAllowed();
            }

            fetch = _fetch;
            bootstrapping = _current is null;
        }

        if (fetch is not null)
        {
            try
            {
                // Without keys there is nothing to validate with, so the first fetch is waited for in full.
                await (bootstrapping ? fetch.WaitAsync(cancel) : fetch.WaitAsync(LongestWait, _time, cancel)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The fetch goes on and serves the next requests; this one is validated with the keys in hand.
            }
        }

        lock (_lock)
        {
            return _current ?? throw new InvalidOperationException($"The metadata of issuer '{_issuer}' could not be fetched yet.");
        }
    }

    public override async Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) =>
        await GetConfigurationAsync(cancel).ConfigureAwait(false);

    /// <summary>Called on a token under an unknown kid: fetches at once unless the least gap has not passed.</summary>
    public override void RequestRefresh()
    {
        lock (_lock)
        {
            StartFetchIfAllowed();
        }
    }

    /// <summary>Starts the one fetch in flight, if none is and the least gap has passed; the caller holds the lock.</summary>
    private void StartFetchIfAllowed()
    {
        if (_fetch is not null || (_lastFetchEndedAt is { } ended && _time.GetElapsedTime(ended) < _leastGap))
        {
            return;
        }

        // On the thread pool, so the fetch cannot complete (and clear itself) before it is recorded under the lock.
        _fetch = Task.Run(FetchAsync);
    }

    private async Task FetchAsync()
    {
        var started = _time.GetTimestamp();
        try
        {
            using var timeout = new CancellationTokenSource(FetchTimeout, _time);
            var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(MetadataAddress, _documents(), timeout.Token).ConfigureAwait(false);
            int failed;
            lock (_lock)
            {
                _current = configuration;
                _currentFetchedAt = started;
                failed = _failures;
                _failures = 0;
            }

            if (failed > 0)
            {
                LogFetchedAgain(_logger, _issuer, failed);
            }
        }
        catch (Exception ex)
        {
            ReportFailure(ex);
        }
        finally
        {
            lock (_lock)
            {
                _fetch = null;
                _lastFetchEndedAt = _time.GetTimestamp();
            }
        }
    }

    /// <summary>One warning for the first failure, then at most one per <c>maxAge</c> with the count: an outage is not a flood of lines.</summary>
    private void ReportFailure(Exception exception)
    {
        int failures;
        TimeSpan? keysAge;
        lock (_lock)
        {
            failures = ++_failures;
            if (failures > 1 && _time.GetElapsedTime(_lastWarningAt) < _maxAge)
            {
                return;
            }

            _lastWarningAt = _time.GetTimestamp();
            keysAge = _current is null ? null : _time.GetElapsedTime(_currentFetchedAt);
        }

        if (keysAge is { } age)
        {
            LogFetchFailed(_logger, _issuer, failures, age, exception);
        }
        else
        {
            LogNoKeys(_logger, _issuer, failures, exception);
        }
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Could not fetch the metadata of issuer {Issuer} ({Failures} failed attempts in a row); its keys fetched {KeysAge} ago stay in use")]
    private static partial void LogFetchFailed(ILogger logger, string issuer, int failures, TimeSpan keysAge, Exception exception);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "Could not fetch the metadata of issuer {Issuer} ({Failures} failed attempts in a row); its tokens are refused until it answers")]
    private static partial void LogNoKeys(ILogger logger, string issuer, int failures, Exception exception);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Information, Message = "Fetched the metadata of issuer {Issuer} again after {Failures} failed attempts")]
    private static partial void LogFetchedAgain(ILogger logger, string issuer, int failures);
}
