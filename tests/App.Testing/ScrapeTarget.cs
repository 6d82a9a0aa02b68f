namespace App.Testing;

/// <summary>One address Prometheus scrapes, with the labels its series get (as service discovery would give them).</summary>
public sealed record ScrapeTarget(string Address, IReadOnlyDictionary<string, string> Labels);
