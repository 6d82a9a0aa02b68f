using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>A delivered message: which job, and the stream entry to acknowledge.</summary>
public sealed record JobMessage(RedisValue MessageId, JobRef Job);
