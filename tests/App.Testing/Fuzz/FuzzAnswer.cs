namespace App.Testing.Fuzz;

/// <summary>What the service answered to one fuzzed request, and what that request carried (to tell an echo from a leak).</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="MediaType">The media type of the answer's body, without parameters.</param>
/// <param name="Body">The body as text.</param>
/// <param name="RetryAfter">Whether the answer carries <c>Retry-After</c>.</param>
/// <param name="Sent">Everything the request carried as text (path, query and body, decoded), which the answer may repeat.</param>
/// <param name="Target">The request's path and query as sent.</param>
public sealed record FuzzAnswer(int Status, string? MediaType, string Body, bool RetryAfter, string Sent = "", string Target = "");
