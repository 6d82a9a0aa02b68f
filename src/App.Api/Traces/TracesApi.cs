using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Application;
using App.Application.Audit;
using App.Application.Identity;
using App.Application.OpenAi;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Traces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace App.Api.Traces;

/// <summary>
/// <c>GET /v1/traces</c> and <c>GET /v1/traces/{id}</c>: a tenant's model calls, newest first, with keyset
/// pagination; <c>GET /v1/traces/export</c>: all of them that match, as newline-delimited JSON. Every query runs
/// under row-level security for the caller's tenant. Content is decrypted only for callers holding
/// <c>traces:content</c>, one trace at a time; reading it and exporting are recorded in the audit trail.
/// </summary>
internal static class TracesApi
{
    public const int MaxPageSize = 200;

    /// <summary>Rows an export reads per query (each its own short transaction).</summary>
    public const int ExportBatch = 500;

    public static RouteGroupBuilder MapTracesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/traces").WithTags("Traces").RequireAuthorization(Scopes.TracesRead);
        group.MapGet("/", ListAsync).WithName("ListTraces").WithSummary("Lists your tenant's model calls, newest first.");
        group.MapGet("/export", ExportAsync).WithName("ExportTraces")
            .WithSummary("Every trace that matches, newest first, as newline-delimited JSON (no content); recorded in the audit trail.")
            .Produces(200, contentType: "application/x-ndjson");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetTrace").WithSummary("One model call; its content with the traces:content scope.");
        return group;
    }

    public sealed record TraceSummary(
        [property: JsonPropertyName("id")] Guid Id,
        [property: JsonPropertyName("trace_id")] string? TraceId,
        [property: JsonPropertyName("user")] string? User,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("provider")] string? Provider,
        [property: JsonPropertyName("deployment")] string? Deployment,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("error_type")] string? ErrorType,
        [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
        [property: JsonPropertyName("latency_ms")] double LatencyMs,
        [property: JsonPropertyName("ttft_ms")] double? TimeToFirstTokenMs,
        [property: JsonPropertyName("input_tokens")] long? InputTokens,
        [property: JsonPropertyName("output_tokens")] long? OutputTokens,
        [property: JsonPropertyName("token_source")] string TokenSource,
        [property: JsonPropertyName("cached")] bool Cached,
        [property: JsonPropertyName("streamed")] bool Streamed,
        [property: JsonPropertyName("retries")] int Retries,
        [property: JsonPropertyName("fallback")] bool Fallback,
        [property: JsonPropertyName("response_model")] string? ResponseModel,
        [property: JsonPropertyName("finish_reason")] string? FinishReason,
        [property: JsonPropertyName("temperature")] float? Temperature,
        [property: JsonPropertyName("cost_usd")] decimal? CostUsd,
        [property: JsonPropertyName("classification")] string Classification,
        [property: JsonPropertyName("redactions")] string? Redactions,
        [property: JsonPropertyName("guard_score")] float? GuardScore,
        [property: JsonPropertyName("guard_rules")] string? GuardRules);

    public sealed record TracePage(
        [property: JsonPropertyName("data")] IReadOnlyList<TraceSummary> Data,
        [property: JsonPropertyName("next_cursor")] string? NextCursor);

    public sealed record TraceDetail(
        [property: JsonPropertyName("trace")] TraceSummary Trace,
        [property: JsonPropertyName("prompt")] string? Prompt,
        [property: JsonPropertyName("output")] string? Output,
        [property: JsonPropertyName("content_erased")] bool? ContentErased = null);

    private static async Task<Results<Ok<TracePage>, ProblemHttpResult>> ListAsync(
        Caller caller, TenantData data, HttpContext context,
        string? model = null, string? status = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int limit = 50, string? cursor = null)
    {
        if (limit is < 1 or > MaxPageSize)
        {
            return Invalid("limit", $"'limit' must be between 1 and {MaxPageSize}.");
        }

        if (InvalidFilter(model, status, from, to) is { } invalid)
        {
            return invalid;
        }

        (DateTimeOffset At, Guid Id)? after = null;
        if (cursor is not null)
        {
            if (Decode(cursor) is not { } decoded)
            {
                return Invalid("cursor", "'cursor' is not a cursor this API returned.");
            }

            after = decoded;
        }

        var tenant = caller.Tenant;
        var page = await data.ReadLaggingAsync(tenant, db => Matching(db, model, status, from, to, after).Take(limit + 1).ToListAsync(context.RequestAborted), context.RequestAborted);

        var more = page.Count > limit;
        var items = page.Take(limit).Select(Summary).ToList();
        return TypedResults.Ok(new TracePage(items, more ? Encode(items[^1].StartedAt, items[^1].Id) : null));
    }

    private static async Task<IResult> ExportAsync(
        Caller caller, TenantData data, IAuditLog audit, IOptions<JsonOptions> json, HttpContext context,
        string? model = null, string? status = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        if (InvalidFilter(model, status, from, to) is { } invalid)
        {
            return invalid;
        }

        var tenant = caller.Tenant;
        // Recorded before anything leaves: an export cut short is still on record.
        await audit.AppendAsync(tenant, AuditKinds.TracesExported, caller.Subject ?? "unknown", null, new { model, status, from, to }, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ContentDisposition = "attachment; filename=\"traces.ndjson\"";
        return Results.Stream(async body =>
        {
            var ct = context.RequestAborted;
            (DateTimeOffset At, Guid Id)? after = null;
            var buffer = new ArrayBufferWriter<byte>();
            await using var writer = new Utf8JsonWriter(buffer);
            while (true)
            {
                var batch = await data.ReadLaggingAsync(tenant, db => Matching(db, model, status, from, to, after).Take(ExportBatch).ToListAsync(ct), ct);
                foreach (var trace in batch)
                {
                    JsonSerializer.Serialize(writer, Summary(trace), json.Value.SerializerOptions);
                    writer.Flush();
                    buffer.Write("\n"u8);
                    writer.Reset();
                }

                // A batch leaves as it is read: the export never holds more than one batch.
                await body.WriteAsync(buffer.WrittenMemory, ct);
                buffer.ResetWrittenCount();
                if (batch.Count < ExportBatch)
                {
                    return;
                }

                after = (batch[^1].StartedAt, batch[^1].Id);
            }
        }, "application/x-ndjson");
    }

    private static ProblemHttpResult? InvalidFilter(string? model, string? status, DateTimeOffset? from, DateTimeOffset? to)
    {
        if (model is not null && StoredText.Problem(model, ChatRequestMapper.MaxModelLength) is { } problem)
        {
            return Invalid("model", $"'model' {problem}");
        }

        if (status is not null && !TraceStatus.All.Contains(status))
        {
            return Invalid("status", $"'status' must be one of {string.Join(", ", TraceStatus.All)}.");
        }

        return from is { } f && to is { } t && f >= t ? Invalid("from", "'from' must be before 'to'.") : null;
    }

    /// <summary>The traces that match, newest first, after a keyset position. No tenant filter on purpose: row-level security is the filter.</summary>
    private static IQueryable<TraceRecord> Matching(AppDbContext db, string? model, string? status, DateTimeOffset? from, DateTimeOffset? to, (DateTimeOffset At, Guid Id)? after)
    {
        var query = db.Traces.AsNoTracking();
        if (model is not null)
        {
            query = query.Where(t => t.ModelAlias == model);
        }

        if (status is not null)
        {
            query = query.Where(t => t.Status == status);
        }

        if (from is { } f)
        {
            query = query.Where(t => t.StartedAt >= f);
        }

        if (to is { } end)
        {
            query = query.Where(t => t.StartedAt < end);
        }

        if (after is { } a)
        {
            query = query.Where(t => t.StartedAt < a.At || (t.StartedAt == a.At && t.Id.CompareTo(a.Id) < 0));
        }

        return query.OrderByDescending(t => t.StartedAt).ThenByDescending(t => t.Id);
    }

    private static async Task<Results<Ok<TraceDetail>, NotFound>> GetAsync(Guid id, Caller caller, TenantData data, TraceContent content, IAuditLog audit, HttpContext context)
    {
        var tenant = caller.Tenant;
        var trace = await data.ReadLaggingAsync(tenant, db => db.Traces.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, context.RequestAborted), context.RequestAborted);
        if (trace is null)
        {
            return TypedResults.NotFound();
        }

        if (!caller.HasScope(Scopes.TracesContent) || (trace.PromptCiphertext is null && trace.OutputCiphertext is null))
        {
            return TypedResults.Ok(new TraceDetail(Summary(trace), null, null));
        }

        // Reading what users sent is itself a security event.
        await audit.AppendAsync(tenant, AuditKinds.TraceContentRead, caller.Subject ?? "unknown", trace.Id.ToString(), null, context.RequestAborted);
        var opened = await content.OpenAsync(trace, context.RequestAborted);
        return TypedResults.Ok(new TraceDetail(Summary(trace), opened.Prompt, opened.Output, opened.Erased));
    }

    private static TraceSummary Summary(TraceRecord t) => new(
        t.Id, t.TraceId, t.UserId, t.ModelAlias, t.Provider, t.Deployment, t.Status, t.ErrorType, t.StartedAt, t.LatencyMs,
        t.TimeToFirstTokenMs, t.InputTokens, t.OutputTokens, t.TokenSource, t.Cached, t.Streamed, t.Retries, t.FallbackUsed,
        t.ResponseModel, t.FinishReason, t.Temperature, t.CostNanoUsd is { } nano ? nano / 1_000_000_000m : null,
        t.Classification, t.Redactions, t.GuardScore, t.GuardRules);

    // Opaque to clients: the position after the last row of a page.
    private static string Encode(DateTimeOffset at, Guid id) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{at.UtcTicks}:{id:N}"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (DateTimeOffset, Guid)? Decode(string cursor)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var parts = Encoding.ASCII.GetString(Convert.FromBase64String(padded)).Split(':');
            return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && Guid.TryParseExact(parts[1], "N", out var id)
                && ticks is > 0 and < 3155378975999999999
                ? (new DateTimeOffset(ticks, TimeSpan.Zero), id)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static ProblemHttpResult Invalid(string param, string message) => TypedResults.Problem(
        statusCode: 400, type: "urn:app:problem:invalid-request", title: "The request is invalid.", detail: message,
        extensions: new Dictionary<string, object?> { ["error"] = new WireError { Message = message, Type = "invalid_request_error", Param = param, Code = "invalid_value" } });
}
