using App.Api.Auth;
using App.Api.Problems;
using App.Infrastructure.Idempotency;
using StackExchange.Redis;

namespace App.Api.Idempotency;

/// <summary>
/// <c>Idempotency-Key</c> on write endpoints (draft-ietf-httpapi-idempotency-key-header): the first request with a
/// key runs and its answer is kept (<see cref="Retention"/>); the same key with the same request gets that answer
/// again (<c>Idempotent-Replayed: true</c>), with a different request 422, while the first is still running 409 (after
/// waiting a little for it, <see cref="WaitForFirst"/>). Keys are the caller's (tenant and user), and the request is
/// compared as canonical JSON, so whitespace and member order do not make it another. Answers that invite a retry
/// (5xx, 429) are not kept.
/// </summary>
internal sealed partial class IdempotencyMiddleware(RequestDelegate next, IdempotencyStore store, ILogger<IdempotencyMiddleware> logger)
{
    public const string Header = "Idempotency-Key";
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    private static readonly TimeSpan WaitForFirst = TimeSpan.FromSeconds(2);

    public async Task InvokeAsync(HttpContext context)
    {
        var metadata = context.GetEndpoint()?.Metadata.GetMetadata<IdempotencyMetadata>();
        if (metadata is null || Caller.From(context.User) is not { TenantOrNull: { } tenant } user)
        {
            await next(context);
            return;
        }

        var key = context.Request.Headers[Header].ToString();
        if (key.Length == 0)
        {
            if (metadata.Required)
            {
                await Refuse(context, 400, "idempotency-key-required", "An Idempotency-Key is required.",
                    "Send an 'Idempotency-Key' header (a unique string, e.g. a UUID, up to 255 characters) so that a retried submission runs once.", "missing_idempotency_key");
                return;
            }

            await next(context);
            return;
        }

        if (key.Length > 255 || key.Any(c => c is < '!' or > '~'))
        {
            await Refuse(context, 400, "invalid-idempotency-key", "The Idempotency-Key is invalid.",
                "An Idempotency-Key is 1 to 255 visible ASCII characters.", "invalid_idempotency_key");
            return;
        }

        var caller = new IdempotencyCaller(tenant, user.Subject ?? "-");
        context.Request.EnableBuffering();
        using var buffered = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffered, context.RequestAborted);
        context.Request.Body.Position = 0;
        var fingerprint = IdempotencyStore.Fingerprint(context.Request.Method, context.Request.Path + context.Request.QueryString, buffered.GetBuffer().AsSpan(0, (int)buffered.Length));

        IdempotencyClaim claim;
        try
        {
            claim = await ClaimOrWaitAsync(caller, key, fingerprint, context.RequestAborted);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Without the store, the endpoint's own backstop applies (jobs: a unique key per user in PostgreSQL).
            LogStoreUnavailable(ex.Message);
            await next(context);
            return;
        }

        switch (claim.State)
        {
            case IdempotencyState.Mismatch:
                await Refuse(context, 422, "idempotency-key-reused", "The Idempotency-Key was used for another request.",
                    "This Idempotency-Key was already used with a different request. Use a new key for a new request.", "idempotency_key_reused");
                return;
            case IdempotencyState.InProgress:
                context.Response.Headers.RetryAfter = "1";
                await Refuse(context, 409, "idempotency-key-in-progress", "A request with this Idempotency-Key is in progress.",
                    "The first request with this Idempotency-Key has not finished yet. Retry shortly to get its answer.", "idempotency_key_in_progress");
                return;
            case IdempotencyState.Replay:
                await ReplayAsync(context, claim.Response!);
                return;
        }

        await RunAndKeepAsync(context, caller, key, fingerprint);
    }

    private async Task<IdempotencyClaim> ClaimOrWaitAsync(IdempotencyCaller caller, string key, byte[] fingerprint, CancellationToken cancellationToken)
    {
        var waited = TimeSpan.Zero;
        while (true)
        {
            var claim = await store.ClaimAsync(caller, key, fingerprint, Lease);
            if (claim.State != IdempotencyState.InProgress || waited >= WaitForFirst)
            {
                return claim;
            }

            await Task.Delay(50, cancellationToken);
            waited += TimeSpan.FromMilliseconds(50);
        }
    }

    private async Task RunAndKeepAsync(HttpContext context, IdempotencyCaller caller, string key, byte[] fingerprint)
    {
        var original = context.Response.Body;
        using var capture = new MemoryStream();
        context.Response.Body = capture;
        var kept = false;
        try
        {
            await next(context);
            var status = context.Response.StatusCode;
            if (status < 500 && status != 429)
            {
                var response = new StoredResponse(status, context.Response.ContentType, context.Response.Headers.Location.ToString() is { Length: > 0 } l ? l : null, capture.ToArray());
                await Safely(() => store.CompleteAsync(caller, key, fingerprint, response, Retention));
                kept = true;
            }
        }
        finally
        {
            context.Response.Body = original;
            if (!kept)
            {
                await Safely(() => store.ReleaseAsync(caller, key, fingerprint));
            }
        }

        capture.Position = 0;
        await capture.CopyToAsync(original, context.RequestAborted);
    }

    private static async Task ReplayAsync(HttpContext context, StoredResponse stored)
    {
        context.Response.StatusCode = stored.Status;
        context.Response.ContentType = stored.ContentType;
        if (stored.Location is not null)
        {
            context.Response.Headers.Location = stored.Location;
        }

        context.Response.Headers["Idempotent-Replayed"] = "true";
        await context.Response.Body.WriteAsync(stored.Body, context.RequestAborted);
    }

    private async Task Safely(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogStoreUnavailable(ex.Message);
        }
    }

    private static Task Refuse(HttpContext context, int status, string slug, string title, string detail, string code) =>
        ApiProblems.Problem(status, slug, title, detail, "invalid_request_error", Header, code).ExecuteAsync(context);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency store unavailable ({Error}); the request runs without it")]
    private partial void LogStoreUnavailable(string error);
}
