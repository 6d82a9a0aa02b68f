using System.Globalization;
using System.Text;

namespace App.Application;

/// <summary>
/// The rule for a short string that is stored and filtered on (a model alias, a tenant, a user): PostgreSQL refuses a
/// NUL and a value longer than its column, and a control character or a lone surrogate has no business in a name.
/// Values a client sends are checked with <see cref="Problem"/> and refused with a 400 naming the field; values an
/// upstream sends are made to fit with <see cref="Fit"/>, since the client is not at fault for them.
/// </summary>
public static class StoredText
{
    /// <summary>What is wrong with <paramref name="value"/>, as the end of a sentence naming the field, or null.</summary>
    public static string? Problem(string value, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > maxLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"must be at most {maxLength} characters.");
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c))
            {
                return string.Create(CultureInfo.InvariantCulture, $"must not contain control characters (U+{(int)c:X4} at position {i}).");
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return string.Create(CultureInfo.InvariantCulture, $"must be valid Unicode (a lone surrogate U+{(int)c:X4} at position {i}).");
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="value"/> as it can be stored: control characters dropped, lone surrogates replaced by U+FFFD,
    /// cut to <paramref name="maxLength"/> without splitting a surrogate pair.
    /// </summary>
    public static string? Fit(string? value, int maxLength)
    {
        if (value is null || (value.Length <= maxLength && Problem(value, maxLength) is null))
        {
            return value;
        }

        var fitted = new StringBuilder(Math.Min(value.Length, maxLength));
        for (var i = 0; i < value.Length && fitted.Length < maxLength; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (fitted.Length + 2 > maxLength)
                {
                    break;
                }

                fitted.Append(c).Append(value[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                fitted.Append('\uFFFD');
            }
            else if (!char.IsControl(c))
            {
                fitted.Append(c);
            }
        }

        return fitted.ToString();
    }
}
