using System.Diagnostics;
using App.Application.Calls;
using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Application.Traces;

/// <summary>Turns a finished chat call into a trace draft (content still in clear; the writer redacts and encrypts).</summary>
public static class ChatTraces
{
    public static TraceDraft Draft(string tenant, string? user, GatewayRequest request, ChatCallRecord record, bool streamed, DateTimeOffset startedAt, TimeSpan elapsed, Activity? activity)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var trace = new TraceRecord
        {
            Id = Uuid.NewVersion7(startedAt),
            TenantId = tenant,
            // The request's OpenTelemetry trace id. ASP.NET Core starts an activity for every request while logging or
            // a listener is on; a request without one (logging switched off entirely) still gets an id of the same
            // form, so no trace is stored without one.
            TraceId = ((activity ?? Activity.Current)?.TraceId ?? ActivityTraceId.CreateRandom()).ToHexString(),
            UserId = user,
            ModelAlias = request.Alias,
            Provider = record.Provider,
            Deployment = record.DeploymentId,
            // What the upstream reported is kept as far as it can be stored: the caller is not at fault for it.
            ResponseModel = StoredText.Fit(record.ResponseModel, TraceRecord.MaxResponseModelLength),
            Status = record.ErrorType switch
            {
                null => TraceStatus.Ok,
                "client_disconnected" or "cancelled" => TraceStatus.Cancelled,
                nameof(GatewayErrorKind.ModelNotFound) or nameof(GatewayErrorKind.Overloaded)
                    or nameof(AdmissionVerdict.RateLimited) or nameof(AdmissionVerdict.TooLarge) or nameof(AdmissionVerdict.BudgetExceeded)
                    or nameof(GatewayErrorKind.InputRejected) => TraceStatus.Rejected,
                _ => TraceStatus.Error,
            },
            ErrorType = record.ErrorType,
            StartedAt = startedAt,
            LatencyMs = Math.Round(elapsed.TotalMilliseconds, 3),
            TimeToFirstTokenMs = record.TimeToFirstToken is { } ttft ? Math.Round(ttft.TotalMilliseconds, 3) : null,
            InputTokens = record.InputTokens,
            OutputTokens = record.OutputTokens,
            TokenSource = record.InputTokens is null && record.OutputTokens is null ? "none" : "provider",
            Cached = record.Cache is CacheStatus.Hit or CacheStatus.SemanticHit,
            Streamed = streamed,
            Retries = record.Retries,
            FallbackUsed = record.FallbackUsed,
            Temperature = request.Options.Temperature,
            FinishReason = StoredText.Fit(record.FinishReason, TraceRecord.MaxFinishReasonLength),
            GuardScore = record.Guard is { } guard ? (float)guard.Score : null,
            GuardRules = record.Guard is { Rules.Count: > 0 } flagged ? Cap(string.Join(',', flagged.Rules), 400) : null,
        };
        return new TraceDraft(trace, Contents(request.Messages), record.Output);
    }

    private static (string Role, string Text)[] Contents(IReadOnlyList<ChatMessage> messages)
    {
        var contents = new (string Role, string Text)[messages.Count];
        for (var i = 0; i < contents.Length; i++)
        {
            contents[i] = (messages[i].Role.Value, messages[i].Text);
        }

        return contents;
    }

    private static string Cap(string value, int length) => value.Length <= length ? value : value[..length];
}
