using System.Net.Mime;
using App.Api.Auth;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.Identity;
using App.Application.OpenAi;
using Microsoft.Extensions.AI;

namespace App.Api.OpenAi;

/// <summary><c>POST /v1/chat/completions</c>, OpenAI-compatible, as JSON or as a server-sent event stream.</summary>
internal static partial class ChatCompletionsApi
{
    public static RouteGroupBuilder MapChatCompletions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Chat").RequireAuthorization(Scopes.ChatInvoke);
        group.MapPost("/chat/completions", CreateAsync)
            .WithName("CreateChatCompletion")
            .WithSummary("Creates a model response for the conversation (OpenAI-compatible).")
            .WithDescription("With \"stream\": true the answer is sent as text/event-stream chunks ending in data: [DONE]; a failure after the first chunk ends the stream with an 'error' event and no [DONE].")
            .Accepts<ChatCompletionRequest>(MediaTypeNames.Application.Json)
            .Produces<ChatCompletion>(StatusCodes.Status200OK)
            .Produces<ChatCompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        return group;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, Caller caller, ChatCalls calls, GuardPolicy guard, ILogger<ChatGateway> logger)
    {
        var parsed = await WireRequest.ReadAsync(context, OpenAiJson.Wire.ChatCompletionRequest);
        if (parsed.Error is not null)
        {
            return parsed.Error;
        }

        var wire = parsed.Request!;
        GatewayRequest request;
        try
        {
            var threshold = SemanticThresholdHeader.Read(context.Request.Headers);
            request = ChatRequestMapper.Map(wire, CacheKey.TenantScope(caller.Tenant)) with { Caller = caller.Usage, SemanticThreshold = threshold };
        }
        catch (GatewayException ex)
        {
            return OpenAiErrors.From(ex, context);
        }

        var bypass = false;
        foreach (var value in context.Request.Headers.CacheControl)
        {
            bypass |= value?.Contains("no-store", StringComparison.OrdinalIgnoreCase) == true;
        }

        if (await calls.AdmitAsync(context.RequestAborted) is { } refused)
        {
            return OpenAiErrors.From(refused, context);
        }

        using var call = calls.Start(request, caller.Tenant, caller.Subject, streaming: wire.Stream == true, timing: context.Features.Get<CallTiming>());
        try
        {
            call.Record.Guard = guard.Check(GuardPolicy.Chat, GuardPolicy.UserTexts(request.Messages));
            guard.ThrowIfBlocked(GuardPolicy.Chat, call.Record.Guard, "messages");

            return call.Streaming
                ? await StreamAsync(context, call, wire.StreamOptions?.IncludeUsage == true, bypass, logger)
                : await CompleteAsync(context, call, bypass);
        }
        catch (GatewayException ex)
        {
            call.Failed(ex);
            RateLimitHeaders.Write(context.Response, call.Record.Admission);
            return OpenAiErrors.From(ex, context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            call.ClientDisconnected();
            return Results.Empty;
        }
    }

    private static async Task<IResult> CompleteAsync(HttpContext context, ChatCall call, bool bypass)
    {
        var response = await call.CompleteAsync(bypass, context.RequestAborted);
        SetCommonHeaders(context, call.Record);
        var completion = Completions.From(response, call.Request, call.Record);
        return new WireJsonResult<ChatCompletion>(completion, OpenAiJson.Wire.ChatCompletion);
    }

    private static async Task<IResult> StreamAsync(HttpContext context, ChatCall call, bool includeUsage, bool bypass, ILogger logger)
    {
        var aborted = context.RequestAborted;
        // Anything that fails before the first token fails here and is still a normal HTTP error.
        await using var answer = await call.StreamAsync(bypass, aborted);

        SetCommonHeaders(context, call.Record);
        ServerSentEvents.Prepare(context.Response);
        using var sse = new ServerSentEvents(context.Response.BodyWriter);
        var id = Completions.NewId();
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = call.Record.ResponseModel ?? call.Request.Alias;
        string? finish = null;
        UsageDetails? usage = null;
        var output = new System.Text.StringBuilder();
        try
        {
            // The opening chunk leaves with the first token, in the same write, so that the first token reaches the
            // client after one send; the closing chunks and [DONE] likewise share one flush.
            sse.Data(Chunk(id, created, model, new ChunkDelta { Role = "assistant", Content = string.Empty }, null), OpenAiJson.Wire.ChatCompletionChunk);
            await foreach (var update in answer.ReadAllAsync(aborted))
            {
                finish ??= update.FinishReason?.Value;
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent u)
                    {
                        usage = u.Details;
                    }
                }

                var text = update.Text;
                if (text.Length > 0)
                {
                    output.Append(text);
                    await sse.DataAsync(Chunk(id, created, model, new ChunkDelta { Content = text }, null), OpenAiJson.Wire.ChatCompletionChunk, aborted);
                }
            }

            sse.Data(Chunk(id, created, model, new ChunkDelta(), finish ?? "stop"), OpenAiJson.Wire.ChatCompletionChunk);
            if (includeUsage)
            {
                sse.Data(
                    new ChatCompletionChunk { Id = id, Created = created, Model = model, Choices = [], Usage = Completions.ToWire(usage) ?? new WireUsage() },
                    OpenAiJson.Wire.ChatCompletionChunk);
            }

            await sse.DoneAsync(aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            call.ClientDisconnected();
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            // Headers and tokens are already out: the only honest signal left is an error event and no [DONE].
            call.StreamFailed(ex);
            LogStreamFailed(logger, call.Record.DeploymentId, ex.GetType().Name, ex.Message);
            var error = new WireErrorEnvelope
            {
                Error = new WireError
                {
                    Message = "The model stream failed before it was complete; the answer above is partial. Retry the request.",
                    Type = "server_error",
                    Code = "stream_interrupted",
                },
            };
            try
            {
                await sse.ErrorAsync(error, OpenAiJson.Wire.WireErrorEnvelope, aborted);
            }
            catch (Exception writeError) when (writeError is OperationCanceledException or IOException)
            {
                // the client left while we were telling it
            }
        }
        finally
        {
            call.Record.Output = output.ToString();
        }

        return Results.Empty;
    }

    private static void SetCommonHeaders(HttpContext context, ChatCallRecord record)
    {
        RateLimitHeaders.Write(context.Response, record.Admission);
        context.Response.Headers["x-cache"] = record.Cache switch
        {
            CacheStatus.Hit => "hit",
            CacheStatus.SemanticHit => "semantic-hit",
            CacheStatus.Miss => "miss",
            _ => "bypass",
        };
    }

    private static ChatCompletionChunk Chunk(string id, long created, string model, ChunkDelta delta, string? finish) => new()
    {
        Id = id,
        Created = created,
        Model = model,
        Choices = [new ChunkChoice { Index = 0, Delta = delta, FinishReason = finish }],
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream from {DeploymentId} failed after the first token ({ErrorType}: {Error}); sent an error event")]
    private static partial void LogStreamFailed(ILogger logger, string? deploymentId, string errorType, string error);
}
