namespace App.IntegrationTests.Deploy;

/// <summary>The outcome of a measurement, a metric or a run, best first: a run is as bad as its worst metric.</summary>
public enum AnalysisPhase
{
    /// <summary>The success condition held: the rollout goes on.</summary>
    Successful,

    /// <summary>Neither condition held (too little traffic to judge): the rollout pauses for a person.</summary>
    Inconclusive,

    /// <summary>The query or the condition could not be evaluated: the rollout aborts once errors persist.</summary>
    Error,

    /// <summary>The failure condition held: the rollout aborts and the stable pods take all traffic back.</summary>
    Failed,
}
