namespace App.Application.Guard;

/// <summary><c>Guard</c>: the input guard's rule set and what each route does with a suspected input.</summary>
public sealed class GuardOptions
{
    public const string Section = "Guard";

    /// <summary>The rule set file, relative to the content root.</summary>
    public string RulesFile { get; init; } = "guard/rules.v1.json";

    /// <summary>Per route (<c>chat</c>, <c>jobs</c>, <c>prompts</c>): <c>Off</c>, <c>Flag</c> (recorded in the trace) or <c>Block</c> (refused).</summary>
    public Dictionary<string, GuardAction> Routes { get; init; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["chat"] = GuardAction.Flag,
        ["jobs"] = GuardAction.Flag,
        ["prompts"] = GuardAction.Block,
    };

    public GuardAction For(string route) => Routes.TryGetValue(route, out var action) ? action : GuardAction.Flag;
}
