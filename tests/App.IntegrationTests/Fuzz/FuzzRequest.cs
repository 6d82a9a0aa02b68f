namespace App.IntegrationTests.Fuzz;

/// <summary>One generated request: what it sends, and a line saying what was bent, for the failure message.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="PathAndQuery">The path and query, percent-encoded as sent.</param>
/// <param name="Body">The body bytes, or null for none.</param>
/// <param name="ContentType">The Content-Type header, or null for none.</param>
/// <param name="WithToken">Whether the request carries a bearer token with every scope.</param>
/// <param name="IdempotencyKey">An Idempotency-Key header, or null for none.</param>
/// <param name="Description">What the request bends.</param>
/// <param name="Values">The hostile strings it carries, unencoded, which an answer may repeat without leaking anything.</param>
public sealed record FuzzRequest(
    string Method,
    string PathAndQuery,
    byte[]? Body,
    string? ContentType,
    bool WithToken,
    string? IdempotencyKey,
    string Description,
    IReadOnlyList<string> Values)
{
    public override string ToString() =>
        $"{Method} {App.Testing.Fuzz.FuzzAnswerChecker.Excerpt(PathAndQuery, 200)} [{Description}; {(WithToken ? "token" : "no token")}; {ContentType ?? "no content type"}; {Body?.Length ?? 0} bytes]";
}
