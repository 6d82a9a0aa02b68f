using System.Diagnostics;
using App.Application.Calls;
using App.Application.Telemetry;

namespace App.Application.Embeddings;

/// <summary>Starts and finishes the span and metrics of one embeddings call (GenAI semantic conventions).</summary>
public static class EmbeddingSpans
{
    public const string Operation = "embeddings";

    public static Activity? Start(EmbeddingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = GatewayTelemetry.Source.StartActivity($"{Operation} {request.Alias}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", Operation);
            activity.SetTag("gen_ai.request.model", request.Alias);
            activity.SetTag("gen_ai.embeddings.dimension.count", request.Dimensions);
            activity.SetTag("app.embeddings.items", request.Items.Count);
        }

        return activity;
    }

    public static void Finish(Activity? activity, EmbeddingRequest request, ChatCallRecord record, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var tags = new TagList
        {
            { "gen_ai.operation.name", Operation },
            { "gen_ai.provider.name", record.Provider ?? "none" },
            { "gen_ai.request.model", request.Alias },
        };
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

        if (activity is null)
        {
            return;
        }

        activity.SetTag("gen_ai.provider.name", record.Provider);
        activity.SetTag("gen_ai.response.model", record.ResponseModel);
        activity.SetTag("gen_ai.usage.input_tokens", record.InputTokens);
        activity.SetTag("app.cache.result", record.Cache.ToString().ToLowerInvariant());
        activity.SetTag("app.deployment", record.DeploymentId);
        if (record.ErrorType is not null)
        {
            activity.SetTag("error.type", record.ErrorType);
            activity.SetStatus(ActivityStatusCode.Error);
        }

        activity.Dispose();
    }
}
