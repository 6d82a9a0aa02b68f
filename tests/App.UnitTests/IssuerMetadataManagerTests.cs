using System.Security.Cryptography;
using System.Text.Json;
using App.Infrastructure.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace App.UnitTests;

/// <summary>
/// When an external issuer's metadata is fetched, on a clock the test moves: at most <c>maxAge</c> old when used,
/// at once on an unknown kid, never sooner than the least gap after the last fetch, one fetch for many callers, and a
/// failed fetch keeps the keys in hand. ExternalIssuerKeyTests proves the same against a real issuer and the real
/// JwtBearer handler.
/// </summary>
public sealed class IssuerMetadataManagerTests
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan LeastGap = TimeSpan.FromSeconds(5);

    private readonly ManualClock _clock = new();
    private readonly ScriptedIssuer _issuer = new();
    private readonly ListLogger _logger = new();

    private IssuerMetadataManager Manager() =>
        new("corp", ScriptedIssuer.MetadataAddress, () => _issuer, MaxAge, LeastGap, _clock, _logger);

    private static string Kid(OpenIdConnectConfiguration configuration) => Assert.Single(configuration.SigningKeys).KeyId;

    [Fact]
    public async Task TheKeysAreFetchedOnceAndServedUntilTheyReachTheirMaxAge()
    {
        var manager = Manager();
        Assert.Equal("k1", Kid(await manager.GetConfigurationAsync(default)));
        _issuer.Kid = "k2";
        _clock.Advance(MaxAge - TimeSpan.FromSeconds(1));
        Assert.Equal("k1", Kid(await manager.GetConfigurationAsync(default)));
        Assert.Equal(1, _issuer.KeyFetches);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("k2", Kid(await manager.GetConfigurationAsync(default)));
        Assert.Equal(2, _issuer.KeyFetches);
    }

    [Fact]
    public async Task AnUnknownKidFetchesAtOnceButNeverSoonerThanTheLeastGapAfterTheLastFetch()
    {
        var manager = Manager();
        await manager.GetConfigurationAsync(default);
        _issuer.Kid = "k2";

        manager.RequestRefresh();
        Assert.Equal("k1", Kid(await manager.GetConfigurationAsync(default)));
        _clock.Advance(LeastGap - TimeSpan.FromMilliseconds(1));
        manager.RequestRefresh();
        Assert.Equal("k1", Kid(await manager.GetConfigurationAsync(default)));
        Assert.Equal(1, _issuer.KeyFetches);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        manager.RequestRefresh();
        Assert.Equal("k2", Kid(await manager.GetConfigurationAsync(default)));
        Assert.Equal(2, _issuer.KeyFetches);
    }

    [Fact]
    public async Task ManyCallersAtOnceShareOneFetch()
    {
        var manager = Manager();
        _issuer.Hold();
        var callers = Enumerable.Range(0, 20).Select(_ => manager.GetConfigurationAsync(default)).ToList();
        for (var i = 0; i < 20; i++)
        {
            manager.RequestRefresh();
        }

        _issuer.Release();
        var configurations = await Task.WhenAll(callers);
        Assert.Single(configurations.Distinct());
        Assert.Equal(1, _issuer.KeyFetches);
    }

    [Fact]
    public async Task AFailedFetchKeepsTheKeysInHandAndIsRetriedNoSoonerThanTheLeastGap()
    {
        var manager = Manager();
        var first = await manager.GetConfigurationAsync(default);
        _issuer.Failing = true;
        _clock.Advance(MaxAge);
        Assert.Same(first, await manager.GetConfigurationAsync(default));
        Assert.Same(first, await manager.GetConfigurationAsync(default));
        manager.RequestRefresh();
        Assert.Equal(2, _issuer.Attempts);

        _clock.Advance(LeastGap);
        Assert.Same(first, await manager.GetConfigurationAsync(default));
        Assert.Equal(3, _issuer.Attempts);

        _issuer.Failing = false;
        _issuer.Kid = "k2";
        _clock.Advance(LeastGap);
        Assert.Equal("k2", Kid(await manager.GetConfigurationAsync(default)));
    }

    [Fact]
    public async Task WithoutAnyKeysACallFailsAndTheNextAttemptWaitsTheLeastGap()
    {
        var manager = Manager();
        _issuer.Failing = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => manager.GetConfigurationAsync(default));
        await Assert.ThrowsAsync<InvalidOperationException>(() => manager.GetConfigurationAsync(default));
        Assert.Equal(1, _issuer.Attempts);

        _issuer.Failing = false;
        _clock.Advance(LeastGap);
        Assert.Equal("k1", Kid(await manager.GetConfigurationAsync(default)));
    }

    [Fact]
    public async Task AnOutageIsReportedOncePerMaxAgeWithTheCountNotOncePerAttempt()
    {
        var manager = Manager();
        await manager.GetConfigurationAsync(default);
        _issuer.Failing = true;
        _clock.Advance(MaxAge);
        for (var i = 0; i < 12; i++)
        {
            await manager.GetConfigurationAsync(default);
            _clock.Advance(LeastGap);
        }

        await manager.GetConfigurationAsync(default);
        Assert.Equal(13, _issuer.Attempts - 1);
        var warnings = _logger.Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Message).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("(1 failed attempts in a row)", warnings[0], StringComparison.Ordinal);
        Assert.Contains("(13 failed attempts in a row)", warnings[1], StringComparison.Ordinal);

        _issuer.Failing = false;
        _clock.Advance(LeastGap);
        await manager.GetConfigurationAsync(default);
        Assert.Contains(_logger.Lines, l => l.Message.Contains("again after 13 failed attempts", StringComparison.Ordinal));
    }

    /// <summary>
    /// Time as the test moves it. Its timers never fire: a wait for a fetch in flight ends when the fetch does, not when
    /// a loaded machine takes longer than the real-time wait (a timer of the system clock made a fetch look skipped).
    /// </summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Stopped();

        private sealed class Stopped : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>A discovery document and a one-key JWKS, answered from memory; can fail or hold its answers.</summary>
    private sealed class ScriptedIssuer : IDocumentRetriever
    {
        public const string MetadataAddress = "https://issuer.test/.well-known/openid-configuration";
        private static readonly RSA Rsa = RSA.Create(2048);
        private TaskCompletionSource _held = CompletedSource();
        private int _attempts;
        private int _keyFetches;

        public string Kid { get; set; } = "k1";

        public bool Failing { get; set; }

        public int Attempts => Volatile.Read(ref _attempts);

        public int KeyFetches => Volatile.Read(ref _keyFetches);

        public void Hold() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _held.TrySetResult();

        public async Task<string> GetDocumentAsync(string address, CancellationToken cancel)
        {
            if (address == MetadataAddress)
            {
                Interlocked.Increment(ref _attempts);
                await _held.Task.WaitAsync(cancel);
                if (Failing)
                {
                    throw new IOException("the issuer is down");
                }

                return JsonSerializer.Serialize(new { issuer = "https://issuer.test", jwks_uri = "https://issuer.test/jwks" });
            }

            Interlocked.Increment(ref _keyFetches);
            var key = Rsa.ExportParameters(false);
            var jwk = new { kty = "RSA", kid = Kid, use = "sig", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) };
            return JsonSerializer.Serialize(new { keys = new[] { jwk } });
        }

        private static TaskCompletionSource CompletedSource()
        {
            var source = new TaskCompletionSource();
            source.SetResult();
            return source;
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
