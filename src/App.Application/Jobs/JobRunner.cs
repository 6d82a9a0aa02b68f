using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.OpenAi;
using App.Application.Traffic;

namespace App.Application.Jobs;

/// <summary>
/// Runs the requests of a job one after the other through the same gateway path as the chat endpoint (limits,
/// budget, cache, fallback, trace per call). A request the service refuses for good (invalid, unknown model, over
/// budget) becomes an error in its slot of the result; a failure that may pass later (overload, timeout, upstream
/// down, rate limit) ends the run so that the whole job is retried after a backoff. A run goes on after the results an
/// earlier run kept, and hands each new result to be kept, so an answered request is never sent twice.
/// </summary>
public sealed class JobRunner(ChatCalls calls, GuardPolicy guard)
{
    /// <param name="tenant">Whose job it is.</param>
    /// <param name="user">Who submitted it.</param>
    /// <param name="requests">The job's requests.</param>
    /// <param name="done">Results an earlier run kept, for the first requests; the run starts after them.</param>
    /// <param name="keep">Called with the results so far after each request but the last (whose result the outcome carries).</param>
    /// <param name="cancellationToken">Ends the run.</param>
    public async Task<JobRunOutcome> RunAsync(
        string tenant, string user, IReadOnlyList<ChatCompletionRequest> requests, IReadOnlyList<JobItemResult> done, Func<IReadOnlyList<JobItemResult>, Task> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(done);
        ArgumentNullException.ThrowIfNull(keep);
        var results = new List<JobItemResult>(requests.Count);
        results.AddRange(done.Take(requests.Count));
        for (var i = results.Count; i < requests.Count; i++)
        {
            GatewayRequest mapped;
            try
            {
                mapped = ChatRequestMapper.Map(requests[i], CacheKey.TenantScope(tenant)) with { Caller = new UsageCaller(tenant, user) };
            }
            catch (GatewayException ex)
            {
                results.Add(JobItemResult.Failed(i, ex));
                await KeepAsync(results, requests.Count, keep).ConfigureAwait(false);
                continue;
            }

            var verdict = guard.Check(GuardPolicy.Jobs, GuardPolicy.UserTexts(mapped.Messages));
            var call = await calls.CompleteAsync(mapped, tenant, user, cancellationToken, verdict).ConfigureAwait(false);
            if (call.Error is { } error)
            {
                if (GatewayErrors.IsTransient(error.Kind))
                {
                    return new JobRunOutcome(null, error);
                }

                results.Add(JobItemResult.Failed(i, error));
            }
            else
            {
                results.Add(new JobItemResult { Index = i, Status = "ok", Response = Completions.From(call.Response!, mapped, call.Record) });
            }

            await KeepAsync(results, requests.Count, keep).ConfigureAwait(false);
        }

        return new JobRunOutcome(results, null);
    }

    private static Task KeepAsync(List<JobItemResult> results, int total, Func<IReadOnlyList<JobItemResult>, Task> keep) =>
        results.Count < total ? keep(results.ToArray()) : Task.CompletedTask;
}
