using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.OpenAi;
using App.Infrastructure.Providers;
using FsCheck.Xunit;
using Microsoft.Extensions.AI;

namespace App.PropertyTests;

[Properties(Arbitrary = [typeof(Generators)], MaxTest = 300)]
public class GatewayProperties
{
    private static string Key(string json, string scope = "t:1")
    {
        var mapped = ChatRequestMapper.Map(JsonSerializer.Deserialize(json, OpenAiJson.Wire.ChatCompletionRequest)!, scope);
        return CacheKey.Compute("k:", 1, mapped.Scope, mapped.Alias, mapped.Messages, mapped.Options);
    }

    [Property]
    public bool CacheKeyIgnoresMemberOrderAndWhitespace(RequestSample request) =>
        Key(request.ToJson(shuffled: false)) == Key(request.ToJson(shuffled: true));

    [Property]
    public bool CacheKeyChangesWithTheTenant(RequestSample request) =>
        Key(request.ToJson(false), "t:1") != Key(request.ToJson(false), "t:2");

    [Property]
    public bool CacheKeyChangesWhenTheConversationChanges(RequestSample request)
    {
        var changed = JsonNode.Parse(request.ToJson(false))!.AsObject();
        var messages = changed["messages"]!.AsArray();
        var last = messages[^1]!.AsObject();
        last["content"] = last["content"]!.GetValue<string>() + "?";
        return Key(request.ToJson(false)) != Key(changed.ToJsonString());
    }

    [Property]
    public bool CacheKeyChangesWhenASamplingOptionChanges(RequestSample request)
    {
        var changed = JsonNode.Parse(request.ToJson(false))!.AsObject();
        var t = changed["temperature"]?.GetValue<double>();
        changed["temperature"] = t is null ? 1.5 : t < 1 ? t + 0.5 : t - 0.5;
        return Key(request.ToJson(false)) != Key(changed.ToJsonString());
    }

    [Property]
    public bool ArbitraryInputIsEitherAcceptedOrRefusedWithANamedReason(JunkRequest junk)
    {
        try
        {
            var request = JsonSerializer.Deserialize(junk.Json, OpenAiJson.Wire.ChatCompletionRequest);
            if (request is not null)
            {
                ChatRequestMapper.Map(request, "s");
            }

            return true;
        }
        catch (JsonException)
        {
            return true;
        }
        catch (GatewayException ex)
        {
            return ex.Kind == GatewayErrorKind.InvalidRequest && !string.IsNullOrEmpty(ex.Param);
        }
    }
}

[Properties(Arbitrary = [typeof(Generators)], MaxTest = 200)]
public class OfflineModelProperties
{
    private static readonly OfflineChatClient Model = new("offline-1", TimeSpan.Zero, TimeProvider.System);

    private static (List<ChatMessage> Messages, ChatOptions Options) Request(OfflineSample s) =>
        ([new ChatMessage(ChatRole.User, s.Prompt)],
         new ChatOptions { Seed = s.Seed, MaxOutputTokens = s.MaxTokens, StopSequences = s.Stop is null ? null : [s.Stop] });

    [Property]
    public bool StreamingAddsUpToTheSameAnswerAsNonStreaming(OfflineSample sample)
    {
        var (messages, options) = Request(sample);
        var whole = Model.GetResponseAsync(messages, options).GetAwaiter().GetResult();
        var parts = new List<ChatResponseUpdate>();
        var enumerator = Model.GetStreamingResponseAsync(messages, options).GetAsyncEnumerator();
        while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            parts.Add(enumerator.Current);
        }

        var usage = parts.SelectMany(p => p.Contents).OfType<UsageContent>().Single().Details;
        return whole.Text == string.Concat(parts.Select(p => p.Text))
            && whole.Usage!.OutputTokenCount == usage.OutputTokenCount
            && whole.FinishReason == parts[^1].FinishReason;
    }

    [Property]
    public bool AnswersAreDeterministicAndHonourLimits(OfflineSample sample)
    {
        var (messages, options) = Request(sample);
        var a = Model.GetResponseAsync(messages, options).GetAwaiter().GetResult();
        var b = Model.GetResponseAsync(messages, options).GetAwaiter().GetResult();
        var withinMax = sample.MaxTokens is null || a.Usage!.OutputTokenCount <= sample.MaxTokens;
        var noStop = sample.Stop is null || !a.Text.Contains(sample.Stop, StringComparison.Ordinal);
        var lengthFinish = a.FinishReason != ChatFinishReason.Length || a.Usage!.OutputTokenCount == sample.MaxTokens;
        return a.Text == b.Text && withinMax && noStop && lengthFinish && a.Usage!.OutputTokenCount == OfflineChatClient.CountTokens(a.Text);
    }

    [Property]
    public bool TokenizingLosesNothing(string? text) =>
        text is null || string.Concat(OfflineChatClient.Tokenize(text)) == text;
}
