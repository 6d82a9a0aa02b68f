namespace App.DeployTests.Policies;

/// <summary>One denial line of the policy gate: where, which object, which policy, and why.</summary>
internal sealed record Denial(string Source, string Kind, string Name, string Policy, string Message);
