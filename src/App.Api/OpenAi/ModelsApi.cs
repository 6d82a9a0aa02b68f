using App.Application.Embeddings;
using App.Application.Gateway;
using App.Application.Identity;
using App.Application.OpenAi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.OpenAi;

/// <summary><c>GET /v1/models</c>: the configured chat model aliases, then the embedding ones, in OpenAI's list format.</summary>
internal static class ModelsApi
{
    public static RouteGroupBuilder MapModels(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Models").RequireAuthorization(Scopes.ChatInvoke);
        group.MapGet("/models", List)
            .WithName("ListModels")
            .WithSummary("Lists the model aliases this gateway serves.");
        return group;
    }

    private static JsonHttpResult<ModelList> List(IModelRoutes routes, IEmbeddingRoutes embeddings) =>
        TypedResults.Json(
            new ModelList
            {
                Data =
                [
                    // Chat aliases first: a client that takes the first model (the page at /) gets one it can chat with.
                    .. routes.Aliases.Order(StringComparer.Ordinal).Select(a => new ModelEntry { Id = a, OwnedBy = routes.OwnedBy(a), Created = 0 }),
                    .. embeddings.Aliases.Where(a => !routes.Aliases.Contains(a)).Order(StringComparer.Ordinal).Select(a => new ModelEntry { Id = a, OwnedBy = embeddings.OwnedBy(a), Created = 0 }),
                ],
            },
            OpenAiJson.Wire.ModelList);
}
