namespace App.Application.Identity;

/// <summary>A customer organisation. Every user, credential, session and (later) trace belongs to one.</summary>
public sealed class Tenant
{
    public required string Id { get; init; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>A tenant id is 3-64 lower-case ASCII letters, digits or '-' (it appears in keys, URLs and logs).</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: >= 3 and <= 64 } && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
