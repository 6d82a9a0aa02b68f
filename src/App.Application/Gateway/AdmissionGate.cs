using App.Application.Calls;
using App.Application.Telemetry;
using App.Application.Traffic;
using Microsoft.Extensions.Options;

namespace App.Application.Gateway;

/// <summary>
/// A call's admission against its caller's rate limits and budget: reserved before the call runs, or while it starts
/// for a caller with room to spare, and settled with what the call really used.
/// </summary>
internal sealed class AdmissionGate(IUsageLimiter limiter, ITokenEstimator tokens, IOptionsMonitor<TrafficOptions> trafficOptions)
{
    /// <summary>
    /// A call that skips the cache, from a caller whose last admission left plenty of room, starts upstream while
    /// its admission is still in Redis (<see cref="TrafficOptions.OverlapAdmission"/>), so that the round trip is
    /// hidden behind the call instead of preceding it; the verdict still comes first (<see cref="AwaitVerdictAsync"/>).
    /// </summary>
    public bool MayOverlap(GatewayRequest request, bool cacheable) =>
        request.Caller is { } caller && !cacheable && limiter.HasHeadroom(caller, request.Alias);

    /// <summary>Reserves the call against the caller's limits and budget, or refuses it with the reason.</summary>
    public async ValueTask<Admission> AdmitAsync(GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var reserveOutput = request.Options.MaxOutputTokens ?? trafficOptions.CurrentValue.DefaultOutputReservation;
        return await AdmitAsync(request.Caller, request.Alias, tokens.CountPrompt(request.Messages) + reserveOutput, "messages", "prompt plus max_tokens", "Shorten the prompt or lower max_tokens.", record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reserves a call of <paramref name="estimate"/> tokens, or refuses it with the reason; <paramref name="param"/>,
    /// <paramref name="what"/> and <paramref name="advice"/> word the refusal of an input too large on its own.
    /// </summary>
    public async ValueTask<Admission> AdmitAsync(UsageCaller? who, string alias, long estimate, string param, string what, string advice, ChatCallRecord record, CancellationToken cancellationToken)
    {
        if (who is not { } caller)
        {
            return Admission.Unlimited;
        }

        var admission = await limiter.AdmitAsync(caller, alias, estimate, cancellationToken).ConfigureAwait(false);
        record.Admission = admission;
        if (admission.IsAdmitted)
        {
            return admission;
        }

        record.ErrorType = admission.Verdict.ToString();
        GatewayTelemetry.Rejections.Add(1, new KeyValuePair<string, object?>("error.type", record.ErrorType));
        throw admission.Verdict switch
        {
            AdmissionVerdict.BudgetExceeded => new GatewayException(
                GatewayErrorKind.BudgetExceeded,
                $"Your organization's {admission.Limit!.Replace('_', ' ')} budget is used up. It renews at the start of the next period.",
                retryAfter: admission.RetryAfter),
            AdmissionVerdict.TooLarge => new GatewayException(
                GatewayErrorKind.RequestTooLarge,
                $"The request needs {estimate} tokens ({what}), more than your limit of {admission.Tokens?.Limit} tokens per minute on '{alias}'. {advice}",
                param: param),
            _ => new GatewayException(
                GatewayErrorKind.RateLimited,
                $"Rate limit reached for {admission.Limit} per minute on '{alias}'. Retry after the delay in Retry-After.",
                retryAfter: admission.RetryAfter),
        };
    }

    /// <summary>
    /// Waits for the admission of a call that is already running. On a refusal (or a failure of the admission itself)
    /// the call is cancelled and waited for, a stream it opened is closed, and the refusal is what the record keeps.
    /// </summary>
    public static async Task<Admission> AwaitVerdictAsync<T>(Task<Admission> admitting, Task<T> running, CancellationTokenSource upstream, ChatCallRecord record)
    {
        try
        {
            return await admitting.ConfigureAwait(false);
        }
        catch
        {
            // Read from the admission, not the record: the running call may have failed and written there too.
            var verdict = record.Admission is { IsAdmitted: false } refused ? refused.Verdict.ToString() : record.ErrorType;
            await upstream.CancelAsync().ConfigureAwait(false);
            try
            {
                if (await running.ConfigureAwait(false) is IAsyncDisposable opened)
                {
                    await opened.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // cancelled as intended, or failed on its own: the refusal is the answer either way
            }

            record.ErrorType = verdict;
            GatewayTelemetry.OverlapsCancelled.Add(1);
            throw;
        }
    }

    /// <summary>Gives back what an admission reserved for a call that will not run.</summary>
    public async Task GiveBackAsync(Task<Admission> admitting)
    {
        try
        {
            Settle(await admitting.ConfigureAwait(false), CallUsage.None);
        }
        catch (GatewayException)
        {
            // refused anyway: nothing was reserved
        }
    }

    /// <summary>What the call used: the provider's usage where reported, otherwise counted or estimated here.</summary>
    public CallUsage UsageOf(GatewayRequest request, ChatCallRecord record, long outputChars) =>
        new(
            record.InputTokens ?? tokens.CountPrompt(request.Messages),
            record.OutputTokens ?? ((outputChars + 3) / 4),
            record.Cache is CacheStatus.Hit or CacheStatus.SemanticHit);

    // Issued before the response goes out (so a later request on this instance sees it), not waited for.
    public void Settle(Admission admission, CallUsage usage)
    {
        if (admission.Reserved is not null)
        {
            _ = limiter.SettleAsync(admission, usage).AsTask();
        }
    }
}
