using System.Globalization;
using App.Application.Traffic;

namespace App.Api.OpenAi;

/// <summary>
/// Tells the client where it stands against its per-minute limits, in two vocabularies: OpenAI's
/// <c>x-ratelimit-*</c> headers (which its SDKs and most clients know) and the IETF draft's structured
/// <c>RateLimit-Policy</c> and <c>RateLimit</c> fields (draft-ietf-httpapi-ratelimit-headers).
/// </summary>
internal static class RateLimitHeaders
{
    public static void Write(HttpResponse response, Admission? admission)
    {
        if (admission is null || (admission.Requests is null && admission.Tokens is null))
        {
            return;
        }

        var headers = response.Headers;
        var policy = new List<string>(2);
        var state = new List<string>(2);
        if (admission.Requests is { } r)
        {
            Add("requests", r);
        }

        if (admission.Tokens is { } t)
        {
            Add("tokens", t);
        }

        headers["RateLimit-Policy"] = string.Join(", ", policy);
        headers["RateLimit"] = string.Join(", ", state);

        void Add(string name, RateWindow window)
        {
            var reset = Math.Max(1, (int)Math.Ceiling(window.Reset.TotalSeconds));
            headers["x-ratelimit-limit-" + name] = window.Limit.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-" + name] = window.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-" + name] = reset.ToString(CultureInfo.InvariantCulture) + "s";
            policy.Add(string.Create(CultureInfo.InvariantCulture, $"\"{name}\";q={window.Limit};w=60"));
            state.Add(string.Create(CultureInfo.InvariantCulture, $"\"{name}\";r={window.Remaining};t={reset}"));
        }
    }
}
