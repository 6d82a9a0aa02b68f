namespace App.Application.Identity;

/// <summary>The scopes that gate the API, one per endpoint group.</summary>
public static class Scopes
{
    public const string ChatInvoke = "chat:invoke";
    public const string JobsWrite = "jobs:write";
    public const string TracesRead = "traces:read";
    public const string TracesContent = "traces:content";
    public const string AuditRead = "audit:read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [ChatInvoke, JobsWrite, TracesRead, TracesContent, AuditRead, Admin];

    /// <summary>The scopes among <paramref name="scopes"/> that this service does not know, in order.</summary>
    public static IReadOnlyList<string> Unknown(IEnumerable<string> scopes) => [.. scopes.Where(s => !All.Contains(s))];

    public static IReadOnlyList<string> Parse(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Whether the space-separated <paramref name="value"/> holds <paramref name="scope"/>, as <see cref="Parse"/> would say, without splitting it.</summary>
    public static bool Includes(string? value, string scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (string.IsNullOrEmpty(value) || scope.Length == 0)
        {
            return false;
        }

        var rest = value.AsSpan();
        foreach (var range in rest.Split(' '))
        {
            if (rest[range].Trim().SequenceEqual(scope))
            {
                return true;
            }
        }

        return false;
    }
}
