using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;
using App.Application.Calls;

namespace App.Application.Guard;

/// <summary>
/// Scores text for prompt-injection attempts with a versioned rule set kept as data (a JSON file of weighted
/// patterns), not code. The score is a noisy-or of the weights of the rules that match (two weak signals add up,
/// one strong one is enough); at or above the rule set's threshold the input is suspected. Patterns run with the
/// non-backtracking engine, so a rule cannot be turned into a denial of service by a crafted input.
/// </summary>
public sealed class InputGuard
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;

    // The runtime's cap on a non-backtracking automaton, and the switch that changes it (read at each construction).
    private const int AutomataLimit = 10_000;
    private const string AutomataLimitSwitch = "REGEX_NONBACKTRACKING_MAX_AUTOMATA_SIZE";
    private static readonly Lock AutomataLimitGate = new();

    // Every rule in one alternation: a single pass that says whether any rule matches. Most inputs match none,
    // and then no rule's own automaton runs (or is even built).
    private readonly Regex? _any;
    private readonly (GuardRule Rule, Lazy<Regex> Regex)[] _rules;
    private readonly GuardVerdict _clean;

    private InputGuard(GuardRuleSet set, Regex? any, (GuardRule Rule, Lazy<Regex> Regex)[] rules)
    {
        Version = set.Version;
        Threshold = set.Threshold;
        _any = any;
        _rules = rules;
        _clean = new GuardVerdict(0, [], false, Version);
    }

    public string Version { get; }

    public double Threshold { get; }

    public int RuleCount => _rules.Length;

    public static InputGuard Load(string json)
    {
        var set = JsonSerializer.Deserialize(json, GuardJsonContext.Default.GuardRuleSet)
            ?? throw new InvalidDataException("The guard rule set is empty.");
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(set.Version))
        {
            problems.Add("'version' is required");
        }

        if (set.Threshold is <= 0 or > 1)
        {
            problems.Add("'threshold' must be in (0, 1]");
        }

        // Each pattern is built once here to prove it is valid on its own and then dropped, because a rule's automaton
        // keeps a large solver (docs/benchmarks-history.md, "The guard reads a prompt once") and is only needed again
        // once the alternation of all rules matches (Score).
        foreach (var rule in set.Rules)
        {
            if (string.IsNullOrWhiteSpace(rule.Id) || rule.Weight is <= 0 or > 1)
            {
                problems.Add($"rule '{rule.Id}': an id and a weight in (0, 1] are required");
            }

            try
            {
                _ = new Regex(rule.Pattern, Options);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                problems.Add($"rule '{rule.Id}': the pattern is not supported ({ex.Message})");
            }
        }

        if (set.Rules.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() != set.Rules.Count)
        {
            problems.Add("rule ids must be unique");
        }

        if (problems.Count > 0)
        {
            throw new InvalidDataException("The guard rule set is invalid: " + string.Join("; ", problems) + ".");
        }

        var rules = set.Rules
            .Select(rule => (rule, new Lazy<Regex>(() => new Regex(rule.Pattern, Options), LazyThreadSafetyMode.ExecutionAndPublication)))
            .ToArray();
        return new InputGuard(set, AnyOf(set.Rules), rules);
    }

    /// <summary>
    /// The alternation of every rule, each in its own group so that its inline options and alternatives stay its
    /// own. Each rule passed the runtime's automaton cap alone but their union may not, so the cap is raised to the
    /// sum of the parts' caps while it is built. The switch is process-wide: another non-backtracking regex built at
    /// this same moment would see the raised cap.
    /// </summary>
    private static Regex? AnyOf(List<GuardRule> rules)
    {
        if (rules.Count == 0)
        {
            return null;
        }

        var pattern = string.Join('|', rules.Select(r => "(?:" + r.Pattern + ")"));
        // Two guards loaded at once (a reload beside a start-up, hosts side by side in one process) would each
        // restore the other's raised cap, or build under the default one: one at a time.
        lock (AutomataLimitGate)
        {
            var previous = AppContext.GetData(AutomataLimitSwitch);
            var cap = previous is int set && set > 0 ? set : AutomataLimit;
            AppContext.SetData(AutomataLimitSwitch, (int)Math.Min(int.MaxValue, (long)cap * rules.Count));
            try
            {
                return new Regex(pattern, Options);
            }
            finally
            {
                AppContext.SetData(AutomataLimitSwitch, previous);
            }
        }
    }

    public GuardVerdict Score(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        // The normalized text lives in a pooled buffer and is matched as a span: a clean prompt (most of them)
        // costs no allocation here.
        char[]? buffer = null;
        try
        {
            var length = GuardText.NormalizeInto(texts, ref buffer);
            ReadOnlySpan<char> text = buffer.AsSpan(0, length);
            if (_any is null || !_any.IsMatch(text))
            {
                return _clean;
            }

            // Something matched: which rules, each on its own (built the first time a match needs it).
            var miss = 1.0;
            List<string>? matched = null;
            foreach (var (rule, regex) in _rules)
            {
                if (regex.Value.IsMatch(text))
                {
                    (matched ??= []).Add(rule.Id);
                    miss *= 1 - rule.Weight;
                }
            }

            var score = Math.Round(1 - miss, 3);
            return new GuardVerdict(score, matched ?? [], score >= Threshold, Version);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The text the rules are matched against: see <see cref="GuardText.Normalize"/>.</summary>
    public static string Normalize(IEnumerable<string> texts) => GuardText.Normalize(texts);
}
