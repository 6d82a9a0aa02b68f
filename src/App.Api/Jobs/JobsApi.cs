using System.Text;
using System.Text.Json;
using App.Api.Auth;
using App.Api.Idempotency;
using App.Api.OpenAi;
using App.Api.Problems;
using App.Application;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Guard;
using App.Application.Identity;
using App.Application.Jobs;
using App.Application.OpenAi;
using App.Infrastructure.Jobs;
using App.Infrastructure.Persistence;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Api.Jobs;

/// <summary>
/// <c>/v1/jobs</c>: chat requests run in the background. Submitting answers 202 at once with a Location; the job
/// is stored before the answer (nothing accepted is lost, even if Redis is away: the sweeper enqueues it then).
/// </summary>
internal static partial class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/jobs").WithTags("Jobs").RequireAuthorization(Scopes.JobsWrite);
        group.MapPost("/", SubmitAsync).WithName("SubmitJob")
            .WithSummary("Queues one chat completion request, or a batch, to run in the background. Requires Idempotency-Key.")
            .Idempotent(required: true)
            .Accepts<JobSubmission>("application/json")
            .Produces<JobView>(StatusCodes.Status202Accepted, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("/{id:guid}", GetAsync).WithName("GetJob").WithSummary("A job's status, and its results once finished.");
        group.MapGet("/{id:guid}/events", EventsAsync).WithName("JobEvents")
            .WithSummary("Server-sent events: 'status' on every change, 'done' with the final job, then the stream ends.");
        return group;
    }

    private static async Task<IResult> SubmitAsync(
        HttpContext context, Caller caller, JobStore store, JobDelivery delivery, GuardPolicy guard, IOptions<JobOptions> options, TimeProvider time, ILogger<JobStore> logger)
    {
        if (!context.Request.HasJsonContentType())
        {
            return OpenAiErrors.UnsupportedMediaType();
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        JobSubmission? submission;
        try
        {
            submission = JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), JobJson.Wire.JobSubmission);
        }
        catch (JsonException ex)
        {
            return OpenAiErrors.InvalidJson(ex);
        }

        var tenant = caller.Tenant;
        var user = caller.Subject ?? "-";
        var (requests, invalid) = Validate(submission, tenant, options.Value.MaxBatchSize, guard);
        if (invalid is not null)
        {
            return invalid;
        }

        var now = time.GetUtcNow();
        var id = Uuid.NewVersion7(now);
        var key = context.Request.Headers[IdempotencyMiddleware.Header].ToString();
        var job = new Job
        {
            Id = id,
            TenantId = tenant,
            UserId = user,
            Status = JobStatus.Queued,
            Model = requests![0].Model ?? string.Empty,
            ItemCount = requests.Count,
            MaxAttempts = options.Value.MaxAttempts,
            IdempotencyKey = key,
            RequestHash = CanonicalJson.Hash([], body.GetBuffer().AsSpan(0, (int)body.Length)),
            RequestCiphertext = store.EncryptRequests(tenant, id, requests),
            CreatedAt = now,
            UpdatedAt = now,
        };

        var (stored, created) = await store.CreateAsync(job, context.RequestAborted);
        if (!created && !stored.RequestHash.AsSpan().SequenceEqual(job.RequestHash))
        {
            return ApiProblems.Problem(422, "idempotency-key-reused", "The Idempotency-Key was used for another request.",
                "This Idempotency-Key was already used with a different request. Use a new key for a new request.", "invalid_request_error", IdempotencyMiddleware.Header, "idempotency_key_reused");
        }

        if (created)
        {
            try
            {
                await delivery.EnqueueAsync(new JobRef(tenant, id));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Stored, so not lost: the sweeper enqueues jobs that show no progress (Jobs:StaleAfter).
                LogEnqueueDeferred(logger, id, ex.Message);
            }
        }

        context.Response.Headers.Location = $"/v1/jobs/{stored.Id}";
        return TypedResults.Json(View(stored, null), JobJson.Wire.JobView, statusCode: StatusCodes.Status202Accepted);
    }

    private static (List<ChatCompletionRequest>? Requests, IResult? Error) Validate(JobSubmission? submission, string tenant, int maxBatch, GuardPolicy guard)
    {
        List<ChatCompletionRequest> requests;
        string prefix;
        if (submission?.Request is { } single && submission.Requests is null)
        {
            requests = [single];
            prefix = "request";
        }
        else if (submission?.Requests is { } many && submission.Request is null)
        {
            requests = many;
            prefix = "requests";
        }
        else
        {
            return (null, Invalid("Send exactly one of 'request' (a chat completion request) or 'requests' (an array of them).", null));
        }

        if (requests.Count == 0 || requests.Count > maxBatch)
        {
            return (null, Invalid($"'requests' must hold 1 to {maxBatch} chat completion requests.", "requests"));
        }

        for (var i = 0; i < requests.Count; i++)
        {
            var at = prefix == "request" ? "request" : $"requests[{i}]";
            if (requests[i] is null)
            {
                return (null, Invalid($"'{at}' must be a chat completion request.", at));
            }

            if (requests[i].Stream == true)
            {
                return (null, Invalid($"'{at}.stream' must not be true: a job's answers are collected, not streamed. Follow GET /v1/jobs/{{id}}/events for progress.", at + ".stream"));
            }

            try
            {
                var mapped = ChatRequestMapper.Map(requests[i], CacheKey.TenantScope(tenant));
                guard.ThrowIfBlocked(GuardPolicy.Jobs, guard.Check(GuardPolicy.Jobs, GuardPolicy.UserTexts(mapped.Messages)), "messages");
            }
            catch (GatewayException ex)
            {
                // Invalid (400 invalid-request) or refused by the guard (400 input-rejected), naming the request's member.
                var (status, slug, title, type, code) = GatewayErrors.Describe(ex.Kind);
                return (null, ApiProblems.Problem(status, slug, title, ex.Message, type, ex.Param is null ? at : $"{at}.{ex.Param}", code));
            }
        }

        return (requests, null);
    }

    private static IResult Invalid(string detail, string? param) =>
        ApiProblems.Problem(400, "invalid-request", "The request is invalid.", detail, "invalid_request_error", param, "invalid_value");

    private static async Task<IResult> GetAsync(Guid id, Caller caller, JobStore store, HttpContext context)
    {
        var job = await FindOwnAsync(id, caller, store, context.RequestAborted);
        return job is null
            ? NotFound(id)
            : TypedResults.Json(View(job, JobStatus.IsFinal(job.Status) ? store.DecryptResults(job) : null), JobJson.Wire.JobView);
    }

    private static async Task EventsAsync(Guid id, Caller caller, JobStore store, IOptions<JobOptions> options, HttpContext context)
    {
        var aborted = context.RequestAborted;
        var job = await FindOwnAsync(id, caller, store, aborted);
        if (job is null)
        {
            await NotFound(id).ExecuteAsync(context);
            return;
        }

        ServerSentEvents.Prepare(context.Response);
        string? last = null;
        var quiet = TimeSpan.Zero;
        try
        {
            while (true)
            {
                var view = View(job!, null);
                var state = $"{view.Status}/{view.Attempts}/{view.Progress.Done}";
                if (JobStatus.IsFinal(job!.Status))
                {
                    await WriteEventAsync(context, "done", JsonSerializer.Serialize(View(job, store.DecryptResults(job)), JobJson.Wire.JobView), aborted);
                    return;
                }

                if (state != last)
                {
                    await WriteEventAsync(context, "status", JsonSerializer.Serialize(view, JobJson.Wire.JobView), aborted);
                    last = state;
                    quiet = TimeSpan.Zero;
                }
                else if ((quiet += options.Value.EventsInterval) >= TimeSpan.FromSeconds(15))
                {
                    // A comment line keeps proxies from closing an idle stream.
                    await context.Response.WriteAsync(": keep-alive\n\n", aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    quiet = TimeSpan.Zero;
                }

                await Task.Delay(options.Value.EventsInterval, aborted);
                try
                {
                    job = await store.FindAsync(new JobRef(job.TenantId, job.Id), aborted) ?? job;
                }
                catch (Exception ex) when (DatabaseOutage.IsUnavailable(ex) && !aborted.IsCancellationRequested)
                {
                    // The stream is open and the job goes on: the next look may find the database back.
                }
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // the client left
        }
    }

    private static async Task WriteEventAsync(HttpContext context, string name, string data, CancellationToken cancellationToken)
    {
        await context.Response.WriteAsync($"event: {name}\ndata: {data}\n\n", Encoding.UTF8, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    private static async Task<Job?> FindOwnAsync(Guid id, Caller caller, JobStore store, CancellationToken cancellationToken)
    {
        var job = await store.FindAsync(new JobRef(caller.Tenant, id), cancellationToken);
        // Row-level security keeps other tenants out; within a tenant a job is its submitter's.
        return job is not null && (job.UserId == (caller.Subject ?? "-") || caller.IsAdmin) ? job : null;
    }

    private static IResult NotFound(Guid id) =>
        ApiProblems.Problem(404, "job-not-found", "The job does not exist.", $"No job '{id}' of yours exists.", "invalid_request_error", "id", "job_not_found");

    private static JobView View(Job job, IReadOnlyList<JobItemResult>? results) => new(
        job.Id,
        "job",
        job.Status,
        job.Model,
        job.CreatedAt,
        job.StartedAt,
        job.CompletedAt,
        job.Attempts,
        job.MaxAttempts,
        job.NextAttemptAt,
        new JobProgress(job.ItemCount, job.ItemsDone),
        job.ErrorType is null && job.Error is null ? null : new JobError(job.ErrorType, job.Error),
        results);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} stored but not enqueued ({Error}); the sweeper will enqueue it")]
    private static partial void LogEnqueueDeferred(ILogger logger, Guid jobId, string error);
}
