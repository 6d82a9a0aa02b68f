namespace App.Bench.Gate;

/// <summary>The load generator's figures for one route in one phase.</summary>
internal sealed record RouteResult(long Requests, long Errors, double P95Ms, string? Failures);
