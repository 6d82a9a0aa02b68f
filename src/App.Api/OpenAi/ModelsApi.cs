using App.Application.Gateway;
using App.Application.Identity;
using App.Application.OpenAi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.OpenAi;

/// <summary><c>GET /v1/models</c>: the configured model aliases, in OpenAI's list format.</summary>
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

    private static JsonHttpResult<ModelList> List(IModelRoutes routes) =>
        TypedResults.Json(
            new ModelList
            {
                Data = [.. routes.Aliases.Order(StringComparer.Ordinal).Select(a => new ModelEntry { Id = a, OwnedBy = routes.OwnedBy(a), Created = 0 })],
            },
            OpenAiJson.Wire.ModelList);
}
