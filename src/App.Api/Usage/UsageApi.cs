using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Application.Identity;
using App.Application.Traffic;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace App.Api.Usage;

/// <summary><c>GET /v1/usage</c>: your tenant's usage today and this month (UTC), its budgets and what is left of them.</summary>
internal static class UsageApi
{
    public static RouteGroupBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/usage").WithTags("Usage").RequireAuthorization(Scopes.ChatInvoke);
        group.MapGet("/", GetAsync).WithName("GetUsage")
            .WithSummary("Your tenant's requests, tokens and cost today and this month, with budgets and what remains.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    public sealed record Budget(
        [property: JsonPropertyName("tokens")] long? Tokens,
        [property: JsonPropertyName("cost_usd")] decimal? CostUsd);

    public sealed record Period(
        [property: JsonPropertyName("start")] DateTimeOffset Start,
        [property: JsonPropertyName("end")] DateTimeOffset End,
        [property: JsonPropertyName("requests")] long Requests,
        [property: JsonPropertyName("input_tokens")] long InputTokens,
        [property: JsonPropertyName("output_tokens")] long OutputTokens,
        [property: JsonPropertyName("cached_tokens")] long CachedTokens,
        [property: JsonPropertyName("cost_usd")] decimal CostUsd,
        [property: JsonPropertyName("budget")] Budget Budget,
        [property: JsonPropertyName("remaining")] Budget Remaining);

    public sealed record UsageResponse(
        [property: JsonPropertyName("tenant")] string Tenant,
        [property: JsonPropertyName("day")] Period Day,
        [property: JsonPropertyName("month")] Period Month);

    private static async Task<Results<Ok<UsageResponse>, ProblemHttpResult>> GetAsync(Caller caller, IUsageLimiter limiter, HttpContext context)
    {
        var tenant = caller.Tenant;
        UsageReport report;
        try
        {
            report = await limiter.ReportAsync(tenant, context.RequestAborted);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Usage is unavailable.",
                detail: "The usage ledger did not answer. Retry shortly.",
                type: "urn:app:problem:usage-unavailable");
        }

        return TypedResults.Ok(new UsageResponse(tenant, ToWire(report.Day), ToWire(report.Month)));
    }

    private static Period ToWire(UsagePeriod p) => new(
        p.Start,
        p.End,
        p.Requests,
        p.InputTokens,
        p.OutputTokens,
        p.CachedTokens,
        p.Cost,
        new Budget(p.TokenBudget, p.CostBudget),
        new Budget(
            p.TokenBudget is { } tb ? Math.Max(0, tb - (p.InputTokens + p.OutputTokens)) : null,
            p.CostBudget is { } cb ? Math.Max(0, cb - p.Cost) : null));
}
