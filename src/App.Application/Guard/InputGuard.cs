using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
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
    private const int MaxChars = 65_536;
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

        // Each pattern is built once here to prove it is valid on its own (syntax, constructs the non-backtracking
        // engine supports, automaton size) and then dropped: a rule's automaton holds 1.5-4.8 MB of solver state
        // after construction, and it is only needed again once the alternation of all rules matches (Score).
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
    /// own. Each rule passed the runtime's automaton cap alone; their union may not (the shipped set estimates
    /// ~23,000 nodes against 10,000), so the cap is raised to the sum of the parts' caps while it is built. The
    /// switch is process-wide: another non-backtracking regex built at this same moment would see the raised cap.
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
            var length = NormalizeInto(texts, ref buffer);
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

    /// <summary>
    /// Folds full-width look-alikes (U+FF01-FF5E, U+3000) to ASCII, drops zero-width and format characters, and
    /// collapses whitespace; one line per text, at most 65,536 characters in all. (The service runs with invariant
    /// globalization, so string.Normalize(FormKC) is not available to fold the look-alikes.)
    /// </summary>
    public static string Normalize(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        char[]? buffer = null;
        try
        {
            var length = NormalizeInto(texts, ref buffer);
            return length == 0 ? string.Empty : new string(buffer!, 0, length);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Writes the normalized text into <paramref name="buffer"/> (rented, grown as needed) and returns its length.</summary>
    private static int NormalizeInto(IEnumerable<string> texts, ref char[]? buffer)
    {
        var n = 0;
        foreach (var part in texts)
        {
            if (n >= MaxChars)
            {
                break;
            }

            // A text never grows: folding keeps its length, the rest only removes. One more for its line end.
            Reserve(ref buffer, n, Math.Min(n + part.Length + 1, MaxChars));
            var space = false;
            foreach (var raw in part)
            {
                var c = raw switch
                {
                    >= '\uFF01' and <= '\uFF5E' => (char)(raw - 0xFEE0),
                    '\u3000' => ' ',
                    _ => raw,
                };
                if (c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                {
                    continue;
                }

                if (char.IsWhiteSpace(c))
                {
                    space = true;
                    continue;
                }

                if (space && n > 0 && buffer![n - 1] != '\n')
                {
                    if (n == MaxChars)
                    {
                        return n;
                    }

                    buffer[n++] = ' ';
                }

                space = false;
                if (n == MaxChars)
                {
                    return n;
                }

                buffer![n++] = c;
            }

            if (n == MaxChars)
            {
                return n;
            }

            buffer![n++] = '\n';
        }

        return n;
    }

    private static void Reserve(ref char[]? buffer, int used, int needed)
    {
        if (buffer is not null && buffer.Length >= needed)
        {
            return;
        }

        var larger = ArrayPool<char>.Shared.Rent(Math.Max(needed, Math.Min(MaxChars, (buffer?.Length ?? 0) * 2)));
        if (buffer is not null)
        {
            buffer.AsSpan(0, used).CopyTo(larger);
            ArrayPool<char>.Shared.Return(buffer);
        }

        buffer = larger;
    }
}

public sealed class GuardRuleSet
{
    [JsonPropertyName("version")]
    public string Version { get; init; } = string.Empty;

    [JsonPropertyName("threshold")]
    public double Threshold { get; init; } = 0.5;

    [JsonPropertyName("limits")]
    public string? Limits { get; init; }

    [JsonPropertyName("rules")]
    public List<GuardRule> Rules { get; init; } = [];
}

public sealed class GuardRule
{
    [JsonPropertyName("id")]
    public string Id { get; init; } = string.Empty;

    [JsonPropertyName("pattern")]
    public string Pattern { get; init; } = string.Empty;

    [JsonPropertyName("weight")]
    public double Weight { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }
}

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

public enum GuardAction
{
    Off,
    Flag,
    Block,
}

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(GuardRuleSet))]
internal sealed partial class GuardJsonContext : JsonSerializerContext;

/// <summary>The guard as each route applies it: which texts are scored, and whether a suspected input is refused.</summary>
public sealed class GuardPolicy(InputGuard guard, Microsoft.Extensions.Options.IOptionsMonitor<GuardOptions> options)
{
    public const string Chat = "chat";
    public const string Jobs = "jobs";
    public const string Prompts = "prompts";

    /// <summary>Scores what the end user wrote (user messages; system prompts are the application's own). Null when the route is off.</summary>
    public GuardVerdict? Check(string route, IEnumerable<string> texts) =>
        options.CurrentValue.For(route) == GuardAction.Off ? null : guard.Score(texts);

    public bool Blocks(string route, GuardVerdict? verdict) =>
        verdict is { Suspected: true } && options.CurrentValue.For(route) == GuardAction.Block;

    /// <summary>Refuses a suspected input on a route set to block (400 <c>input-rejected</c>, naming <paramref name="param"/>).</summary>
    public void ThrowIfBlocked(string route, GuardVerdict? verdict, string param)
    {
        if (Blocks(route, verdict))
        {
            throw new GatewayException(
                GatewayErrorKind.InputRejected,
                "The input was refused: it looks like an attempt to override the instructions it is given.",
                param);
        }
    }

    public static IEnumerable<string> UserTexts(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages) =>
        messages.Where(m => m.Role == Microsoft.Extensions.AI.ChatRole.User).Select(m => m.Text);
}
