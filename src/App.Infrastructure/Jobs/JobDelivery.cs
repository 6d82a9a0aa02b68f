using System.Globalization;
using App.Application.Jobs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>A job's address on the queue: the tenant (to open its row under row-level security) and its id.</summary>
public readonly record struct JobRef(string Tenant, Guid Id)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Tenant}/{Id:N}");
}

/// <summary>A delivered message: which job, and the stream entry to acknowledge.</summary>
public sealed record JobMessage(RedisValue MessageId, JobRef Job);

/// <summary>
/// The delivery side of jobs, on Redis Streams: one stream read by one consumer group (<c>workers</c>), so each
/// message goes to one worker and stays pending until acknowledged. Messages of a worker that died are taken over
/// by another after <see cref="JobOptions.VisibilityTimeout"/> (XAUTOCLAIM); a running job keeps its message by
/// claiming it again (XCLAIM resets its idle time). Retries wait in a sorted set scored by due time, moved to the
/// stream when due by one script; gave-up jobs are also written to <c>{stream}:dead</c> for inspection.
/// </summary>
public sealed class JobDelivery(IConnectionMultiplexer redis, IOptions<JobOptions> options)
{
    public const string Group = "workers";

    private const string PumpScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
        for _, member in ipairs(due) do
          local tenant, job = string.match(member, '^(.*)|(%x+)$')
          if tenant then
            redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'tenant', tenant, 'job', job)
          end
          redis.call('ZREM', KEYS[1], member)
        end
        return #due
        """;

    private const int MaxStreamLength = 1_000_000;

    private static readonly RedisScript Pump = new(PumpScript);

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

    /// <summary>Keeps a running job's message from being taken over (resets its idle time).</summary>
    public Task KeepAliveAsync(string consumer, RedisValue messageId) =>
        Db.StreamClaimIdsOnlyAsync(Stream, Group, consumer, 0, [messageId]);

    public async Task AckAsync(RedisValue messageId)
    {
        var tx = Db.CreateTransaction();
        _ = tx.StreamAcknowledgeAsync(Stream, Group, messageId);
        _ = tx.StreamDeleteAsync(Stream, [messageId]);
        await tx.ExecuteAsync().ConfigureAwait(false);
    }

    public Task DelayAsync(JobRef job, DateTimeOffset due) =>
        Db.SortedSetAddAsync(Delayed, Member(job), due.ToUnixTimeMilliseconds());

    /// <summary>Moves due retries to the stream; returns how many.</summary>
    public async Task<int> PumpDueAsync(DateTimeOffset now) =>
        (int)await Pump.EvaluateAsync(Db, [Delayed, Stream], [now.ToUnixTimeMilliseconds(), MaxStreamLength]).ConfigureAwait(false);

    public Task DeadLetterAsync(JobRef job, string reason) =>
        Db.StreamAddAsync(Dead, [new NameValueEntry("tenant", job.Tenant), new NameValueEntry("job", job.Id.ToString("N")), new NameValueEntry("reason", reason)], maxLength: 100_000, useApproximateMaxLength: true);

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
