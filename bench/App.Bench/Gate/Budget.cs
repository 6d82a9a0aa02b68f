namespace App.Bench.Gate;

/// <summary>A budget's bound and why it is that bound.</summary>
internal sealed record Budget(double Max, string Reason);
