using System.Buffers;
using System.Text;

namespace App.Application.Identity;

/// <summary>
/// What an external issuer's tenant and subject may hold. Both reach PostgreSQL columns of bounded length
/// (<see cref="TenantMaxLength"/>, <see cref="SubjectMaxLength"/>) where an over-long value or a NUL makes the write
/// fail, and logs, where a control character could forge a line; a token carrying such a value is refused rather
/// than half-served.
/// </summary>
public static class ExternalClaims
{
    public const int TenantMaxLength = 64;
    public const int SubjectMaxLength = 128;

    /// <summary>What is wrong with <paramref name="tenant"/> as a tenant id, or null if nothing is; never quotes the value.</summary>
    public static string? TenantProblem(string? tenant)
    {
        if (string.IsNullOrEmpty(tenant))
        {
            return "is empty";
        }

        if (tenant.Length > TenantMaxLength)
        {
            return $"is longer than {TenantMaxLength} characters";
        }

        if (char.IsWhiteSpace(tenant[0]) || char.IsWhiteSpace(tenant[^1]))
        {
            return "starts or ends with whitespace";
        }

        if (ReservedTenants.IsWarmUp(tenant))
        {
            return "is reserved for the service itself";
        }

        return IsPlainText(tenant) ? null : "holds a control character or broken UTF-16";
    }

    /// <summary>What is wrong with <paramref name="subject"/> as a subject, or null if nothing is; never quotes the value.</summary>
    public static string? SubjectProblem(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (subject.Length > SubjectMaxLength)
        {
            return $"is longer than {SubjectMaxLength} characters";
        }

        return IsPlainText(subject) ? null : "holds a control character or broken UTF-16";
    }

    /// <summary>No control character, and no lone surrogate (which PostgreSQL's UTF-8 encoding cannot take either).</summary>
    private static bool IsPlainText(ReadOnlySpan<char> value)
    {
        while (!value.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(value, out var rune, out var consumed) != OperationStatus.Done || Rune.IsControl(rune))
            {
                return false;
            }

            value = value[consumed..];
        }

        return true;
    }
}
