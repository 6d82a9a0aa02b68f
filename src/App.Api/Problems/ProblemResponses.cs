using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace App.Api.Problems;

/// <summary>
/// Adds to each operation of the OpenAPI document the problem answers the pipeline gives around its handler, read
/// from the endpoint's own metadata, so the document lists every status the service really answers (the fuzz test
/// holds it to that): 401 unless anonymous (403 too where a scope is required), 429 behind a rate limiter, 400, 413
/// and 415 where a body is read, 400 where a query or path value is parsed, 404 where the path has parameters.
/// </summary>
internal sealed class ProblemResponses : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var parameters = description.ParameterDescriptions;
        var statuses = new SortedSet<int>();
        if (!metadata.OfType<IAllowAnonymous>().Any())
        {
            statuses.Add(StatusCodes.Status401Unauthorized);
            if (metadata.OfType<IAuthorizeData>().Any())
            {
                statuses.Add(StatusCodes.Status403Forbidden);
            }
        }

        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            statuses.Add(StatusCodes.Status429TooManyRequests);
        }

        if (description.SupportedRequestFormats.Count > 0 || parameters.Any(p => p.Source == BindingSource.Body))
        {
            statuses.UnionWith([StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType]);
        }

        if (parameters.Any(p => (p.Source == BindingSource.Query || p.Source == BindingSource.Path) && p.Type != typeof(string)))
        {
            statuses.Add(StatusCodes.Status400BadRequest);
        }

        if (parameters.Any(p => p.Source == BindingSource.Path))
        {
            statuses.Add(StatusCodes.Status404NotFound);
        }

        operation.Responses ??= [];
        IOpenApiSchema? problem = null;
        foreach (var status in statuses)
        {
            var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.ContainsKey(code))
            {
                continue;
            }

            problem ??= await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
            operation.Responses[code] = new OpenApiResponse
            {
                Description = ReasonPhrases.GetReasonPhrase(status),
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = problem } },
            };
        }
    }
}
