using System.Globalization;
using App.Application.Traffic;

namespace App.Api.OpenAi;

/// <summary>
/// Tells the client where it stands against its per-minute limits, in two vocabularies: OpenAI's
/// <c>x-ratelimit-*</c> headers (which its SDKs and most clients know) and the IETF draft's structured
/// <c>RateLimit-Policy</c> and <c>RateLimit</c> fields (draft-ietf-httpapi-ratelimit-headers).
/// </summary>
/// <remarks>
/// Every answer on /v1 carries these, so what does not change from one request to the next is built once: the
/// limits and the policy (the same for a caller until the configuration changes; the last one is kept) and the
/// reset times (whole seconds within the minute).
/// </remarks>
internal static class RateLimitHeaders
{
    private static readonly string[] SecondsText = [.. Enumerable.Range(0, 61).Select(s => s.ToString(CultureInfo.InvariantCulture) + "s")];
    private static Limits? _last;

    public static void Write(HttpResponse response, Admission? admission)
    {
        if (admission is null || (admission.Requests is null && admission.Tokens is null))
        {
            return;
        }

        var requests = admission.Requests;
        var tokens = admission.Tokens;
        var limits = _last;
        if (limits is null || limits.Requests != requests?.Limit || limits.Tokens != tokens?.Limit)
        {
            _last = limits = new Limits(requests?.Limit, tokens?.Limit);
        }

        var headers = response.Headers;
        int requestsReset = 0, tokensReset = 0;
        if (requests is { } r)
        {
            requestsReset = Seconds(r.Reset);
            headers["x-ratelimit-limit-requests"] = limits.RequestsText;
            headers["x-ratelimit-remaining-requests"] = r.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = ResetText(requestsReset);
        }

        if (tokens is { } t)
        {
            tokensReset = Seconds(t.Reset);
            headers["x-ratelimit-limit-tokens"] = limits.TokensText;
            headers["x-ratelimit-remaining-tokens"] = t.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-tokens"] = ResetText(tokensReset);
        }

        headers["RateLimit-Policy"] = limits.Policy;
        headers["RateLimit"] = (requests, tokens) switch
        {
            ({ } rq, { } tk) => string.Create(CultureInfo.InvariantCulture, $"\"requests\";r={rq.Remaining};t={requestsReset}, \"tokens\";r={tk.Remaining};t={tokensReset}"),
            ({ } rq, null) => string.Create(CultureInfo.InvariantCulture, $"\"requests\";r={rq.Remaining};t={requestsReset}"),
            (null, { } tk) => string.Create(CultureInfo.InvariantCulture, $"\"tokens\";r={tk.Remaining};t={tokensReset}"),
            _ => string.Empty,
        };
    }

    private static int Seconds(TimeSpan reset) => Math.Max(1, (int)Math.Ceiling(reset.TotalSeconds));

    private static string ResetText(int seconds) =>
        seconds < SecondsText.Length ? SecondsText[seconds] : seconds.ToString(CultureInfo.InvariantCulture) + "s";

    private sealed class Limits
    {
        public Limits(long? requests, long? tokens)
        {
            Requests = requests;
            Tokens = tokens;
            RequestsText = requests?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
            TokensText = tokens?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
            var parts = new List<string>(2);
            if (requests is { } r)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"\"requests\";q={r};w=60"));
            }

            if (tokens is { } t)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"\"tokens\";q={t};w=60"));
            }

            Policy = string.Join(", ", parts);
        }

        public long? Requests { get; }

        public long? Tokens { get; }

        public string RequestsText { get; }

        public string TokensText { get; }

        public string Policy { get; }
    }
}
