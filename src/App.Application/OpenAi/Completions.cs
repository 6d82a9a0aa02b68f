using App.Application.Calls;
using Microsoft.Extensions.AI;

namespace App.Application.OpenAi;

/// <summary>Builds the OpenAI wire answer from a gateway answer (for the endpoint and for jobs alike).</summary>
public static class Completions
{
    public static ChatCompletion From(ChatResponse response, GatewayRequest request, ChatCallRecord record)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        return new ChatCompletion
        {
            Id = NewId(),
            Created = (response.CreatedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
            Model = response.ModelId ?? record.ResponseModel ?? request.Alias,
            Choices =
            [
                new CompletionChoice
                {
                    Index = 0,
                    Message = new WireMessage { Role = "assistant", Content = response.Text },
                    FinishReason = response.FinishReason?.Value ?? "stop",
                },
            ],
            Usage = ToWire(response.Usage),
        };
    }

    public static WireUsage? ToWire(UsageDetails? usage) => usage is null
        ? null
        : new WireUsage
        {
            PromptTokens = usage.InputTokenCount ?? 0,
            CompletionTokens = usage.OutputTokenCount ?? 0,
            TotalTokens = usage.TotalTokenCount ?? ((usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0)),
        };

    public static string NewId() => "chatcmpl-" + Uuid.NewVersion7().ToString("N");
}
