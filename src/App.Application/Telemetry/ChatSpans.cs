using System.Diagnostics;
using App.Application.Calls;

namespace App.Application.Telemetry;

/// <summary>Starts and finishes the span and metrics of one chat call (GenAI semantic conventions).</summary>
public static class ChatSpans
{
    /// <summary>
    /// What stands for a model the caller named but the service does not have: the name is the caller's text (anything,
    /// a secret pasted by mistake included), and as a label it would also let callers mint series without end.
    /// </summary>
    public const string UnknownModel = "_OTHER";

    /// <param name="request">The request.</param>
    /// <param name="model">Its model alias when the service has that model, <see cref="UnknownModel"/> otherwise.</param>
    /// <param name="streaming">Whether the answer is streamed.</param>
    public static Activity? Start(GatewayRequest request, string model, bool streaming)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = GatewayTelemetry.Source.StartActivity($"chat {model}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", "chat");
            activity.SetTag("gen_ai.request.model", model);
            activity.SetTag("gen_ai.request.temperature", request.Options.Temperature);
            activity.SetTag("gen_ai.request.top_p", request.Options.TopP);
            activity.SetTag("gen_ai.request.max_tokens", request.Options.MaxOutputTokens);
            activity.SetTag("gen_ai.request.seed", request.Options.Seed);
            activity.SetTag("app.stream", streaming);
        }

        return activity;
    }

    public static void Finish(Activity? activity, string model, ChatCallRecord record, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(record);
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", record.Provider ?? "none" },
            { "gen_ai.request.model", model },
        };
        if (record.ResponseModel is not null)
        {
            tags.Add("gen_ai.response.model", record.ResponseModel);
        }

        if (record.ErrorType is not null)
        {
            tags.Add("error.type", record.ErrorType);
        }

        GatewayTelemetry.OperationDuration.Record(elapsed.TotalSeconds, tags);
        if (record.InputTokens is { } input)
        {
            var t = tags;
            t.Add("gen_ai.token.type", "input");
            GatewayTelemetry.TokenUsage.Record(input, t);
        }

        if (record.OutputTokens is { } output)
        {
            var t = tags;
            t.Add("gen_ai.token.type", "output");
            GatewayTelemetry.TokenUsage.Record(output, t);
        }

        if (record.TimeToFirstToken is { } ttft && record.Cache is not (CacheStatus.Hit or CacheStatus.SemanticHit))
        {
            GatewayTelemetry.TimeToFirstToken.Record(ttft.TotalSeconds, tags);
            // The decode pace: what came after the first token, per token after the first.
            if (record.ErrorType is null && record.OutputTokens is > 1 and { } tokens && elapsed > ttft)
            {
                GatewayTelemetry.TimePerOutputToken.Record((elapsed - ttft).TotalSeconds / (tokens - 1), tags);
            }
        }

        if (activity is null)
        {
            return;
        }

        activity.SetTag("gen_ai.provider.name", record.Provider);
        activity.SetTag("gen_ai.response.model", record.ResponseModel);
        activity.SetTag("gen_ai.usage.input_tokens", record.InputTokens);
        activity.SetTag("gen_ai.usage.output_tokens", record.OutputTokens);
        if (record.FinishReason is not null)
        {
            activity.SetTag("gen_ai.response.finish_reasons", new[] { record.FinishReason });
        }

        activity.SetTag("app.cache.result", record.Cache.ToString().ToLowerInvariant());
        activity.SetTag("app.deployment", record.DeploymentId);
        activity.SetTag("app.retries", record.Retries);
        activity.SetTag("app.fallback", record.FallbackUsed);
        if (record.ErrorType is not null)
        {
            activity.SetTag("error.type", record.ErrorType);
            activity.SetStatus(ActivityStatusCode.Error);
        }

        activity.Dispose();
    }
}
