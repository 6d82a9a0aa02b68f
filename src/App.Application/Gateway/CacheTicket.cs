using App.Application.Caching;

namespace App.Application.Gateway;

/// <summary>What the cache says about a request: a hit, or a miss that this caller leads (Flight) or not.</summary>
internal readonly record struct CacheTicket(string? Key, CachedCompletion? Hit, TaskCompletionSource<CachedCompletion?>? Flight);
