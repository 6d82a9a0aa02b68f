using System.Text.Json;

namespace App.Bench.Gate;

/// <summary>
/// The load gate's file (deploy/ci/load-budgets.json): the budgets every profile is held to, each with its reason,
/// the two routes the load drives (one that calls a model, one that does not), and the profiles as lists of phases.
/// </summary>
internal sealed record LoadBudgets(IReadOnlyDictionary<string, Budget> Budgets, Route Llm, Route Core, IReadOnlyDictionary<string, IReadOnlyList<LoadPhase>> Profiles)
{
    public const string CoreP95 = "core_p95_ms";
    public const string LlmP95 = "llm_p95_ms";
    public const string Errors = "errors_pct";
    public const string TracesDropped = "traces_dropped";
    public const string MemoryGrowth = "memory_growth_mb";

    private static readonly string[] Required = [CoreP95, LlmP95, Errors, TracesDropped, MemoryGrowth];

    public double Max(string budget) => Budgets[budget].Max;

    /// <summary>Reads and checks the file; a budget without its reason, or a phase that cannot run, is refused with the place named.</summary>
    public static LoadBudgets Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var budgets = new Dictionary<string, Budget>(StringComparer.Ordinal);
        foreach (var entry in Member(root, "budgets", path).EnumerateObject())
        {
            var max = Member(entry.Value, "max", $"budgets.{entry.Name}").GetDouble();
            var reason = entry.Value.TryGetProperty("reason", out var r) ? r.GetString() : null;
            if (string.IsNullOrWhiteSpace(reason))
            {
                throw new InvalidDataException($"{path}: budgets.{entry.Name} has no reason. Say why the budget is what it is.");
            }

            if (max < 0)
            {
                throw new InvalidDataException($"{path}: budgets.{entry.Name}.max is negative.");
            }

            budgets[entry.Name] = new Budget(max, reason);
        }

        if (Required.FirstOrDefault(b => !budgets.ContainsKey(b)) is { } missing)
        {
            throw new InvalidDataException($"{path}: budgets.{missing} is missing; the gate needs {string.Join(", ", Required)}.");
        }

        var routes = Member(root, "routes", path);
        var profiles = new Dictionary<string, IReadOnlyList<LoadPhase>>(StringComparer.Ordinal);
        foreach (var profile in Member(root, "profiles", path).EnumerateObject())
        {
            var phases = profile.Value.EnumerateArray().Select((p, i) => Phase(p, $"{path}: profiles.{profile.Name}[{i}]")).ToList();
            if (phases.Count == 0)
            {
                throw new InvalidDataException($"{path}: profiles.{profile.Name} has no phase.");
            }

            profiles[profile.Name] = phases;
        }

        return new LoadBudgets(budgets, RouteOf(Member(routes, "llm", path)), RouteOf(Member(routes, "core", path)), profiles);
    }

    private static LoadPhase Phase(JsonElement p, string where)
    {
        int Int(string name, int fallback) => p.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;
        var phase = new LoadPhase(
            Member(p, "name", where).GetString() ?? where,
            Int("seconds", 0),
            Int("llm_rate", 0),
            Int("core_rate", 0),
            Int("spike_factor", 0),
            Int("spike_at", 0),
            Int("spike_seconds", 0),
            p.TryGetProperty("memory", out var m) && m.GetBoolean());
        if (phase.Seconds <= 0 || phase.LlmRate <= 0 || phase.CoreRate <= 0)
        {
            throw new InvalidDataException($"{where}: seconds, llm_rate and core_rate must be positive.");
        }

        if (phase.SpikeFactor > 0 && (phase.SpikeSeconds <= 0 || phase.SpikeAt + phase.SpikeSeconds > phase.Seconds))
        {
            throw new InvalidDataException($"{where}: the spike (spike_at + spike_seconds) must fit in the phase's seconds.");
        }

        return phase;
    }

    private static Route RouteOf(JsonElement e) => new(Member(e, "method", "routes").GetString() ?? "GET", Member(e, "path", "routes").GetString() ?? "/");

    private static JsonElement Member(JsonElement e, string name, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"{where}: '{name}' is missing.");
}
