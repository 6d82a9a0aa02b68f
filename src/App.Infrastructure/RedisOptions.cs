namespace App.Infrastructure;

/// <summary><c>Redis</c>: the one connection the response cache, rate limits, idempotency and the job stream share.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379,password=...</c>.</summary>
    public string ConnectionString { get; init; } = "127.0.0.1:6379";

    /// <summary>
    /// With <c>ssl=true</c> in the connection string: the CAs (PEM) the server's certificate must chain to, instead of
    /// the machine's trust store. The certificate must also name the host connected to (or <c>sslHost</c>).
    /// </summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>How long one Redis command may take before it counts as failed (and the request goes on without it).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMilliseconds(500);
}
