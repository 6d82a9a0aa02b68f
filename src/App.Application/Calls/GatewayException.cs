namespace App.Application.Calls;

/// <summary>An error the client is told about: its kind, message, the member at fault and when to retry.</summary>
public sealed class GatewayException : Exception
{
    public GatewayException(GatewayErrorKind kind, string message, string? param = null, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Param = param;
        RetryAfter = retryAfter;
    }

    public GatewayErrorKind Kind { get; }

    public string? Param { get; }

    public TimeSpan? RetryAfter { get; }
}
