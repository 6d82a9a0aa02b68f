namespace App.IntegrationTests.Deploy;

/// <summary>One metric of an AnalysisTemplate: its query, its conditions and the limits that turn measurements into a verdict.</summary>
public sealed record AnalysisMetric(
    string Name,
    string Query,
    string? SuccessCondition,
    string? FailureCondition,
    int Count,
    int FailureLimit,
    int InconclusiveLimit,
    int ConsecutiveErrorLimit);
