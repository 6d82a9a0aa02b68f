using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.Application.Prompts;

/// <summary>
/// Runs a prompt template as a contract: the input is validated against its schema, rendered, screened by the
/// input guard, sent with the output schema as the JSON response format, and the answer is validated against that
/// schema. Unshaped output is refused fast: at most <see cref="PromptOptions.RepairAttempts"/> more call, telling
/// the model what was wrong, then a clear error. Each call is a traced gateway call like any other.
/// </summary>
public sealed class PromptRunner(ChatCalls calls, GuardPolicy guard, IOptionsMonitor<PromptOptions> options)
{
    private readonly ConcurrentDictionary<string, string> _rendered = new(StringComparer.Ordinal);

    /// <summary>Runs a template on an input; a <c>timing</c> is the clock of the HTTP request it is run for, if any.</summary>
    public async Task<PromptResult> RunAsync(PromptTemplate template, JsonElement input, UsageCaller caller, CancellationToken cancellationToken, CallTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        var inputJson = input.GetRawText();
        var inputErrors = template.Input.Validate(inputJson);
        if (inputErrors.Count > 0)
        {
            throw new PromptException(PromptFailure.InputInvalid, $"The input does not match the input schema of {template.Id}.", inputErrors);
        }

        var verdict = guard.Check(GuardPolicy.Prompts, StringsOf(input));
        guard.ThrowIfBlocked(GuardPolicy.Prompts, verdict, "input");

        var rendered = Render(template, inputJson, input);
        var messages = new List<ChatMessage>(3);
        if (template.Definition.System is { Length: > 0 } system)
        {
            messages.Add(new ChatMessage(ChatRole.System, system));
        }

        messages.Add(new ChatMessage(ChatRole.User, rendered));
        var chatOptions = new ChatOptions
        {
            Temperature = template.Definition.Temperature,
            Seed = template.Definition.Seed,
            MaxOutputTokens = template.Definition.MaxTokens,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(template.Output.Document, template.Name.Replace('-', '_'), template.Definition.Description),
        };

        long inputTokens = 0, outputTokens = 0;
        var repaired = false;
        var attempts = 1 + Math.Clamp(options.CurrentValue.RepairAttempts, 0, 1);
        IReadOnlyList<string> errors = [];
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var request = new GatewayRequest(template.Definition.Model, messages, chatOptions, CacheKey.TenantScope(caller.Tenant), null) { Caller = caller };
            var call = await calls.CompleteAsync(request, caller.Tenant, caller.User, cancellationToken, verdict, timing).ConfigureAwait(false);
            if (call.Error is { } error)
            {
                throw error;
            }

            var response = call.Response!;
            inputTokens += response.Usage?.InputTokenCount ?? 0;
            outputTokens += response.Usage?.OutputTokenCount ?? 0;
            var text = response.Text;
            errors = template.Output.Validate(text);
            if (errors.Count == 0)
            {
                using var document = JsonDocument.Parse(text);
                return new PromptResult(template, document.RootElement.Clone(), response.ModelId ?? template.Definition.Model, inputTokens, outputTokens, repaired, call.Record.Cache is CacheStatus.Hit or CacheStatus.SemanticHit, verdict);
            }

            // One more call with the model's own answer and what is wrong with it; a fresh seed so it is not the same answer.
            repaired = true;
            messages = [.. messages, new ChatMessage(ChatRole.Assistant, text), new ChatMessage(ChatRole.User, RepairInstruction(errors))];
            chatOptions = chatOptions.Clone();
            chatOptions.Seed = (chatOptions.Seed ?? 0) + 1;
        }

        throw new PromptException(PromptFailure.OutputInvalid, $"The model's output does not match the output schema of {template.Id}.", errors);
    }

    private string Render(PromptTemplate template, string inputJson, JsonElement input)
    {
        var key = template.Id + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(inputJson)));
        if (_rendered.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var rendered = template.Render(input);
        if (_rendered.Count >= options.CurrentValue.RenderCacheSize)
        {
            _rendered.Clear();
        }

        _rendered[key] = rendered;
        return rendered;
    }

    private static string RepairInstruction(IReadOnlyList<string> errors) =>
        "Your answer does not match the required JSON schema: " + string.Join("; ", errors.Take(10))
        + ". Answer again with only a JSON value that matches the schema, nothing else.";

    /// <summary>Every string in the input (what an end user could have written).</summary>
    private static List<string> StringsOf(JsonElement input)
    {
        var strings = new List<string>();
        Walk(input);
        return strings;

        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    strings.Add(e.GetString()!);
                    break;
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        Walk(p.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        Walk(item);
                    }

                    break;
            }
        }
    }
}
