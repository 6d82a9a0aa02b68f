namespace App.Application.Calls;

/// <summary>What the guard found: the score, the rules that matched and whether the input is suspected.</summary>
public sealed record GuardVerdict(double Score, IReadOnlyList<string> Rules, bool Suspected, string RuleSetVersion)
{
    public static readonly GuardVerdict Clean = new(0, [], false, string.Empty);
}
