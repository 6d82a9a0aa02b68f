namespace App.Bench.Gate;

/// <summary>One phase: open-loop load on both routes at once; a spike multiplies both rates for a while.</summary>
internal sealed record LoadPhase(string Name, int Seconds, int LlmRate, int CoreRate, int SpikeFactor, int SpikeAt, int SpikeSeconds, bool Memory);
