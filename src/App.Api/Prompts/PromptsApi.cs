using System.Text.Json;
using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Api.OpenAi;
using App.Api.Problems;
using App.Application.Calls;
using App.Application.Identity;
using App.Application.Prompts;
using Microsoft.AspNetCore.Mvc;

namespace App.Api.Prompts;

/// <summary>
/// <c>/v1/prompts</c>: named, versioned prompt templates with input and output JSON Schemas. Running one validates
/// the input, renders the template, calls the model with the output schema as its response format and returns
/// output that matches the schema, or a clear error.
/// </summary>
internal static class PromptsApi
{
    public static RouteGroupBuilder MapPromptsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/prompts").WithTags("Prompts").RequireAuthorization(Scopes.ChatInvoke);
        group.MapGet("/", List).WithName("ListPrompts").WithSummary("The prompt templates, every version, with their input and output schemas.");
        group.MapPost("/{name}/run", RunAsync).WithName("RunPrompt")
            .WithSummary("Runs a prompt template on an input that matches its input schema; the output matches its output schema.")
            .Accepts<RunRequest>("application/json")
            .Produces<RunResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        return group;
    }

    public sealed record PromptInfo(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("description")] string Description,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("input_schema")] JsonElement InputSchema,
        [property: JsonPropertyName("output_schema")] JsonElement OutputSchema);

    public sealed record PromptList([property: JsonPropertyName("data")] IReadOnlyList<PromptInfo> Data);

    public sealed record RunRequest(
        [property: JsonPropertyName("input")] JsonElement Input,
        [property: JsonPropertyName("version")] int? Version);

    public sealed record RunUsage(
        [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
        [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
        [property: JsonPropertyName("total_tokens")] long TotalTokens);

    public sealed record RunResponse(
        [property: JsonPropertyName("prompt")] string Prompt,
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("output")] JsonElement Output,
        [property: JsonPropertyName("repaired")] bool Repaired,
        [property: JsonPropertyName("cached")] bool Cached,
        [property: JsonPropertyName("usage")] RunUsage Usage);

    private static PromptList List(IPromptCatalog catalog) =>
        new([.. catalog.All.Select(t => new PromptInfo(t.Name, t.Version, t.Definition.Description, t.Definition.Model, t.Input.Document, t.Output.Document))]);

    private static async Task<IResult> RunAsync(string name, HttpContext context, Caller caller, IPromptCatalog catalog, PromptRunner runner)
    {
        RunRequest? body;
        try
        {
            body = await context.Request.ReadFromJsonAsync<RunRequest>(context.RequestAborted);
        }
        catch (JsonException ex)
        {
            return OpenAiErrors.InvalidJson(ex);
        }
        catch (InvalidOperationException)
        {
            return OpenAiErrors.UnsupportedMediaType();
        }

        if (body is null || body.Input.ValueKind != JsonValueKind.Object)
        {
            return ApiProblems.Problem(400, "invalid-request", "The request is invalid.", "The body must be {\"input\": {...}} with an object that matches the prompt's input schema.", "invalid_request_error", "input", "invalid_value");
        }

        if (catalog.Find(name, body.Version) is not { } template)
        {
            return ApiProblems.Problem(404, "prompt-not-found", "The prompt does not exist.",
                $"No prompt '{name}'{(body.Version is { } v ? $" at version {v}" : string.Empty)}. GET /v1/prompts lists them.", "invalid_request_error", "name", "prompt_not_found");
        }

        try
        {
            var result = await runner.RunAsync(template, body.Input, caller.Usage, context.RequestAborted, context.Features.Get<CallTiming>());
            return TypedResults.Ok(new RunResponse(
                template.Name, template.Version, result.Model, result.Output, result.Repaired, result.Cached,
                new RunUsage(result.InputTokens, result.OutputTokens, result.InputTokens + result.OutputTokens)));
        }
        catch (PromptException ex)
        {
            return Problem(ex);
        }
        catch (GatewayException ex)
        {
            return OpenAiErrors.From(ex, context);
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Problem(PromptException ex)
    {
        var (status, slug, title, code) = ex.Failure == PromptFailure.InputInvalid
            ? (400, "prompt-input-invalid", "The input does not match the prompt's input schema.", "invalid_prompt_input")
            : (502, "prompt-output-invalid", "The model's output does not match the prompt's output schema.", "invalid_model_output");
        return TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Type = ApiProblems.ProblemBase + slug,
            Title = title,
            Detail = ex.Message,
            Extensions =
            {
                ["errors"] = ex.Errors,
                ["error"] = new App.Application.OpenAi.WireError { Message = ex.Message, Type = status == 400 ? "invalid_request_error" : "api_error", Param = status == 400 ? "input" : null, Code = code },
            },
        });
    }
}
