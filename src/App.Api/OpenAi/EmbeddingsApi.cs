using System.Net.Mime;
using App.Api.Auth;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Embeddings;
using App.Application.Identity;
using App.Application.OpenAi;
using Microsoft.Extensions.Options;

namespace App.Api.OpenAi;

/// <summary>
/// <c>POST /v1/embeddings</c>, OpenAI-compatible. Same scope as chat (<c>chat:invoke</c>): a key that may call the
/// models may embed with them; rate limits and budgets count its tokens under the embedding model's alias.
/// </summary>
internal static class EmbeddingsApi
{
    public static RouteGroupBuilder MapEmbeddings(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Embeddings").RequireAuthorization(Scopes.ChatInvoke);
        group.MapPost("/embeddings", CreateAsync)
            .WithName("CreateEmbeddings")
            .WithSummary("Creates one embedding vector per input item (OpenAI-compatible).")
            .WithDescription("input is a string, an array of strings, an array of token ids or an array of token-id arrays; the answer keeps input order. Items already embedded for this tenant with the same model, dimensions and encoding come from the cache.")
            .Accepts<EmbeddingsRequest>(MediaTypeNames.Application.Json)
            .Produces<EmbeddingList>(StatusCodes.Status200OK)
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

    private static async Task<IResult> CreateAsync(HttpContext context, Caller caller, EmbeddingCalls calls, IOptionsMonitor<EmbeddingOptions> options)
    {
        var parsed = await WireRequest.ReadAsync(context, OpenAiJson.Wire.EmbeddingsRequest);
        if (parsed.Error is not null)
        {
            return parsed.Error;
        }

        EmbeddingRequest request;
        try
        {
            request = EmbeddingRequestMapper.Map(parsed.Request!, CacheKey.TenantScope(caller.Tenant), options.CurrentValue) with { Caller = caller.Usage };
        }
        catch (GatewayException ex)
        {
            return OpenAiErrors.From(ex, context);
        }

        if (await calls.AdmitAsync(context.RequestAborted) is { } refused)
        {
            return OpenAiErrors.From(refused, context);
        }

        var record = new ChatCallRecord();
        try
        {
            var result = await calls.EmbedAsync(request, caller.Tenant, caller.Subject, record, context.Features.Get<CallTiming>(), context.RequestAborted);
            RateLimitHeaders.Write(context.Response, record.Admission);
            context.Response.Headers["x-cache"] = record.Cache switch
            {
                CacheStatus.Hit => "hit",
                CacheStatus.Miss => "miss",
                _ => "bypass",
            };
            var list = new EmbeddingList
            {
                Model = result.Model,
                Data = [.. result.Vectors.Select((v, i) => new EmbeddingData { Index = i, Embedding = new EmbeddingVector(v, request.Base64) })],
                Usage = new EmbeddingUsage { PromptTokens = result.PromptTokens, TotalTokens = result.PromptTokens },
            };
            return new WireJsonResult<EmbeddingList>(list, OpenAiJson.Wire.EmbeddingList);
        }
        catch (GatewayException ex)
        {
            RateLimitHeaders.Write(context.Response, record.Admission);
            return OpenAiErrors.From(ex, context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
    }
}
