namespace App.Bench.Gate;

/// <summary>
/// What a phase measured: the load generator's row for each route, the traces the service counted as dropped during
/// the phase (from its metrics), and the working set of each instance sampled through the phase (bytes, in order).
/// </summary>
internal sealed record PhaseResult(RouteResult Llm, RouteResult Core, double? TracesDropped, IReadOnlyList<IReadOnlyList<double>> WorkingSet);
