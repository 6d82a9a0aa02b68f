using App.Application.OpenAi;
using Microsoft.AspNetCore.Mvc;

namespace App.Api.Problems;

/// <summary>
/// RFC 9457 problem details that also carry OpenAI's <c>error</c> member, so official OpenAI SDKs surface the
/// message, type, param and code, and generic HTTP clients get a standard problem. The <c>type</c> URIs are stable
/// and listed in docs/api.md.
/// </summary>
internal static class ApiProblems
{
    public const string ProblemBase = "urn:app:problem:";

    public static IResult Problem(int status, string slug, string title, string detail, string openAiType, string? param, string? code) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Type = ProblemBase + slug,
            Title = title,
            Detail = detail,
            Extensions =
            {
                ["error"] = new WireError { Message = detail, Type = openAiType, Param = param, Code = code },
            },
        });

    /// <summary>The member named by a duplicate-member refusal (the serializer's, or a converter's of the same wording).</summary>
    public static string? DuplicateMember(string message)
    {
        const string Marker = "Duplicate property '";
        var start = message.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += Marker.Length;
        var end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : null;
    }
}
