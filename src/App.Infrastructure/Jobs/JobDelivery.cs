using App.Application.Jobs;
using App.Infrastructure.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>
/// The delivery side of jobs, on Redis Streams: one stream read by one consumer group (<c>workers</c>), so each
/// message goes to one worker and stays pending until acknowledged. Messages of a worker that died are taken over
/// by another after <see cref="JobOptions.VisibilityTimeout"/> (XAUTOCLAIM); a running job keeps its message by
/// claiming it again (XCLAIM resets its idle time). Retries wait in a sorted set scored by due time, moved to the
/// stream when due by one script; gave-up jobs are also written to <c>{stream}:dead</c> for inspection.
/// <para>
/// A run holds a lease (<c>{stream}:run:{tenant}|{job}</c>, the worker's name, renewed with its message by one script
/// that talks to Redis alone): a message that reaches another worker while the lease is held, a takeover or a second
/// copy, is left alone, so a job whose worker is alive but waiting (on a stalled database, say) never runs twice.
/// </para>
/// </summary>
public sealed class JobDelivery(IConnectionMultiplexer redis, IOptions<JobOptions> options)
{
    public const string Group = "workers";

    private const int MaxStreamLength = 1_000_000;

    private static readonly TimeSpan DeadMarkerLifetime = TimeSpan.FromDays(7);

    private static readonly RedisScript Pump = RedisScript.Load("Jobs/Pump.lua"),
        Lease = RedisScript.Load("Jobs/Lease.lua"),
        Finish = RedisScript.Load("Jobs/Finish.lua"),
        DeadLetter = RedisScript.Load("Jobs/DeadLetter.lua");

    private string Stream => options.Value.StreamKey;

    private string Delayed => options.Value.StreamKey + ":delayed";

    private string Dead => options.Value.StreamKey + ":dead";

    private IDatabase Db => redis.GetDatabase();

    public async Task EnsureGroupAsync()
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(Stream, Group, StreamPosition.Beginning, createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // exists already
        }
    }

    private TaskCompletionSource _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when this process next enqueues a job, so its own idle workers start at once instead of at their
    /// next poll. Workers in other processes find the message when they poll.
    /// </summary>
    public Task Arrival => Volatile.Read(ref _arrival).Task;

    public async Task EnqueueAsync(JobRef job)
    {
        await Db.StreamAddAsync(Stream, [new NameValueEntry("tenant", job.Tenant), new NameValueEntry("job", job.Id.ToString("N"))], maxLength: MaxStreamLength, useApproximateMaxLength: true).ConfigureAwait(false);
        Interlocked.Exchange(ref _arrival, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async Task<IReadOnlyList<JobMessage>> ReadAsync(string consumer, int count)
    {
        StreamEntry[] entries;
        try
        {
            entries = await Db.StreamReadGroupAsync(Stream, Group, consumer, StreamPosition.NewMessages, count).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // Redis lost the stream (restarted without persistence): make it again; lost jobs come back from PostgreSQL.
            await EnsureGroupAsync().ConfigureAwait(false);
            return [];
        }

        return Parse(entries);
    }

    /// <summary>Takes over messages delivered to workers that stopped answering.</summary>
    public async Task<IReadOnlyList<JobMessage>> ReclaimAsync(string consumer, int count)
    {
        try
        {
            var result = await Db.StreamAutoClaimAsync(Stream, Group, consumer, (long)options.Value.VisibilityTimeout.TotalMilliseconds, "0-0", count).ConfigureAwait(false);
            return Parse(result.ClaimedEntries);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            await EnsureGroupAsync().ConfigureAwait(false);
            return [];
        }
    }

    public async Task AckAsync(RedisValue messageId)
    {
        var tx = Db.CreateTransaction();
        _ = tx.StreamAcknowledgeAsync(Stream, Group, messageId);
        _ = tx.StreamDeleteAsync(Stream, [messageId]);
        await tx.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Jobs waiting for a worker: stream entries not yet delivered to one (acknowledged entries are deleted, so that is
    /// the length less the pending), plus retries waiting for their time. Blocking: for the metrics collection only.
    /// </summary>
    public long CountWaiting()
    {
        var db = Db;
        var length = db.StreamLength(Stream);
        long pending;
        try
        {
            pending = db.StreamPending(Stream, Group).PendingMessageCount;
        }
        catch (RedisServerException)
        {
            pending = 0; // no group yet: nothing was delivered
        }

        return Math.Max(0, length - pending) + db.SortedSetLength(Delayed);
    }

    public Task DelayAsync(JobRef job, DateTimeOffset due) =>
        Db.SortedSetAddAsync(Delayed, Member(job), due.ToUnixTimeMilliseconds());

    /// <summary>Moves due retries to the stream; returns how many.</summary>
    public async Task<int> PumpDueAsync(DateTimeOffset now) =>
        (int)await Pump.EvaluateAsync(Db, [Delayed, Stream], [now.ToUnixTimeMilliseconds(), MaxStreamLength]).ConfigureAwait(false);

    /// <summary>
    /// Writes the job to the dead-letter feed (once, however often this is called for it), acknowledges its message
    /// and gives back the lease if <paramref name="consumer"/> holds it. PostgreSQL's status is the record of a dead
    /// letter; the feed follows it.
    /// </summary>
    public Task DeadLetterAsync(JobRef job, string reason, string consumer, RedisValue messageId) =>
        DeadLetter.EvaluateAsync(
            Db,
            [Stream, RunKey(job), Dead + ":" + Member(job), Dead],
            [Group, messageId.IsNull ? string.Empty : messageId, consumer, (long)DeadMarkerLifetime.TotalMilliseconds, job.Tenant, job.Id.ToString("N"), reason]);

    /// <summary>Takes the run's lease, or renews it (keeping <paramref name="messageId"/> too); false when another worker holds it.</summary>
    public async Task<bool> LeaseAsync(JobRef job, string consumer, RedisValue messageId)
    {
        var ttl = options.Value.VisibilityTimeout - (options.Value.VisibilityTimeout / 10);
        var result = await Lease.EvaluateAsync(
            Db,
            [RunKey(job), Stream],
            [consumer, (long)ttl.TotalMilliseconds, messageId.IsNull ? string.Empty : messageId, Group]).ConfigureAwait(false);
        return (int)result == 1;
    }

    /// <summary>Acknowledges a run's message and gives its lease back.</summary>
    public Task FinishAsync(JobRef job, string consumer, RedisValue messageId) =>
        Finish.EvaluateAsync(Db, [Stream, RunKey(job)], [Group, messageId, consumer]);

    private string RunKey(JobRef job) => Stream + ":run:" + Member(job);

    private static string Member(JobRef job) => job.Tenant + "|" + job.Id.ToString("N");

    private static List<JobMessage> Parse(StreamEntry[] entries)
    {
        var messages = new List<JobMessage>(entries.Length);
        foreach (var entry in entries)
        {
            if (entry.IsNull)
            {
                continue;
            }

            var tenant = entry["tenant"];
            var id = entry["job"];
            if (!tenant.IsNullOrEmpty && Guid.TryParseExact((string?)id, "N", out var guid))
            {
                messages.Add(new JobMessage(entry.Id, new JobRef(tenant!, guid)));
            }
            else
            {
                // Not ours or malformed: acknowledged by the worker without effect.
                messages.Add(new JobMessage(entry.Id, new JobRef(string.Empty, Guid.Empty)));
            }
        }

        return messages;
    }
}
