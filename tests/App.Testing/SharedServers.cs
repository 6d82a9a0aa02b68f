namespace App.Testing;

/// <summary>One Redis (and one PostgreSQL) per test process, started on first use and stopped at exit.</summary>
public static class SharedServers
{
    private static readonly Lazy<Task<IRedisServer>> RedisServer = new(StartRedis);
    private static readonly Lazy<Task<IPostgresServer>> PostgresServer = new(StartPostgres);

    public static Task<IRedisServer> RedisAsync() => RedisServer.Value;

    public static Task<IPostgresServer> PostgresAsync() => PostgresServer.Value;

    private static async Task<IRedisServer> StartRedis()
    {
        var server = await TestServers.StartRedisAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    private static async Task<IPostgresServer> StartPostgres()
    {
        var server = await TestServers.StartPostgresAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }
}
