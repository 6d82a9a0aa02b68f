namespace App.Application.Privacy;

/// <summary>What was redacted, by kind.</summary>
public sealed record Redaction(string Text, IReadOnlyDictionary<string, int> Counts)
{
    public int Total => Counts.Values.Sum();
}
