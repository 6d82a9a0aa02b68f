using App.Application.Calls;

namespace App.Application.Jobs;

/// <summary>Either every request has its result, or the run stopped on a failure worth retrying.</summary>
public sealed record JobRunOutcome(IReadOnlyList<JobItemResult>? Results, GatewayException? RetryableError);
