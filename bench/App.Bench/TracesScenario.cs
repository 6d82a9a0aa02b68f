using System.Diagnostics;
using System.Globalization;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.Bench;

/// <summary>
/// How fast the trace writer stores traces (redaction and encryption included):
/// <c>dotnet run -c Release --project bench/App.Bench -- traces [--count 50000] [--tenants 10] [--content redacted|full|off]</c>.
/// </summary>
internal static class TracesScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = Args.Int(args, "--count", 50_000);
        var tenants = Args.Int(args, "--tenants", 10);
        var contentArg = Args.Text(args, "--content") ?? "redacted";
        var content = Enum.Parse<ContentCapture>(contentArg, ignoreCase: true);

        Console.Error.WriteLine("Starting PostgreSQL (local binaries or Testcontainers) and migrating a fresh database...");
        var database = await Databases.FreshAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var factory = new ContextFactory(dataSource);
        var encryption = new KeyEncryption(Options.Create(new EncryptionOptions { ActiveKey = "bench", Keys = { ["bench"] = GatewayFactory.TestEncryptionKey } }));
        var writer = new TraceWriter(new TenantData(factory, dataSource), encryption, Options.Create(new App.Application.Traces.TraceOptions { Content = content, QueueCapacity = count + 1 }), NullLogger<TraceWriter>.Instance);

        (string, string)[] Messages = [("user", "Please summarise the ticket from jane.doe@example.com about card 4111 1111 1111 1111 and call +44 20 7946 0958.")];
        const string Output = "The customer reports a duplicate charge and asks for a refund within five working days.";
        var drafts = Enumerable.Range(0, count).Select(i => new TraceDraft(new TraceRecord
        {
            Id = Guid.CreateVersion7(),
            TenantId = "bench-" + (i % tenants).ToString(CultureInfo.InvariantCulture),
            ModelAlias = "offline",
            Provider = "offline",
            Status = "ok",
            StartedAt = DateTimeOffset.UtcNow,
            LatencyMs = 1.5,
            InputTokens = 40,
            OutputTokens = 20,
            TokenSource = "provider",
        }, Messages, Output)).ToList();

        using var cts = new CancellationTokenSource();
        await writer.StartAsync(cts.Token);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        foreach (var draft in drafts)
        {
            writer.TryRecord(draft);
        }

        var enqueued = clock.Elapsed;
        await writer.StopAsync(CancellationToken.None); // drains everything queued
        var total = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        long stored = 0;
        for (var t = 0; t < tenants; t++)
        {
            stored += await new TenantData(factory, dataSource).ReadAsync("bench-" + t.ToString(CultureInfo.InvariantCulture), db => db.Traces.LongCountAsync(), CancellationToken.None);
        }

        Console.WriteLine($"| traces | tenants | content | enqueue (ms) | written in (s) | traces/s | CPU s / 1k traces | stored | dropped |");
        Console.WriteLine($"| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {count} | {tenants} | {content} | {enqueued.TotalMilliseconds:0} | {total.TotalSeconds:0.00} | {count / total.TotalSeconds:0} | {cpu.TotalSeconds / count * 1000:0.000} | {stored} | {writer.Dropped} |"));
        return stored == count ? 0 : 1;
    }
}

/// <summary>An unpooled context factory over one data source, as the service configures it.</summary>
internal sealed class ContextFactory(NpgsqlDataSource dataSource) : IDbContextFactory<AppDbContext>
{
    public AppDbContext CreateDbContext() =>
        new((DbContextOptions<AppDbContext>)Database.Configure(new DbContextOptionsBuilder<AppDbContext>(), dataSource).Options);
}
