namespace App.Bench.Gate;

/// <summary>One budget judged on one phase: what was measured (null: nothing to measure it on), the bound, the verdict.</summary>
internal sealed record BudgetCheck(string Phase, string Budget, double? Measured, double Max, bool Passed, string Detail);
