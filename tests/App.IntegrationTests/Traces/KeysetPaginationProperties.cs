using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Traces;

/// <summary>Random data sets, page sizes and inserts between pages, paged through the real API and database.</summary>
public sealed record PagingCase(int[] MinuteOffsets, int PageSize, int[] InsertedBetween)
{
    public override string ToString() => $"rows={MinuteOffsets.Length} page={PageSize} inserts={string.Join(',', InsertedBetween)}";
}

public static class PagingGenerators
{
    public static Arbitrary<PagingCase> Cases() => Arb.From(
        from rows in Gen.Choose(0, 40)
        // Few distinct minutes: many rows share a timestamp, so the id tie-breaker is exercised.
        from offsets in Gen.ArrayOf(Gen.Choose(0, 6), rows)
        from page in Gen.Choose(1, 12)
        from inserts in Gen.ArrayOf(Gen.Choose(0, 3), 4)
        select new PagingCase(offsets, page, inserts));
}

[Collection("paging")]
public sealed class KeysetPaginationProperties : IAsyncLifetime
{
    private GatewayFactory _factory = null!;

    public async Task InitializeAsync()
    {
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync());
        _factory.CreateClient().Dispose();
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private static TraceRecord Row(string tenant, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid(), // random, not time-ordered: order must come from the key, not from luck
        TenantId = tenant,
        ModelAlias = "m",
        Status = "ok",
        StartedAt = at,
        TokenSource = "none",
    };

    [Property(Arbitrary = [typeof(PagingGenerators)], MaxTest = 25)]
    public bool EveryRowComesExactlyOnceInOrderWhileRowsAreInserted(PagingCase test)
    {
        var tenant = "page-" + Guid.NewGuid().ToString("N")[..10];
        var data = _factory.Services.GetRequiredService<TenantData>();
        var origin = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var original = test.MinuteOffsets.Select(m => Row(tenant, origin.AddMinutes(m))).ToList();
        if (original.Count > 0)
        {
            data.WriteAsync(tenant, db => { db.Traces.AddRange(original); return Task.CompletedTask; }, CancellationToken.None).GetAwaiter().GetResult();
        }

        var client = _factory.CreateClientFor(tenant, "pager", Scopes.TracesRead);
        var seen = new List<(DateTimeOffset At, Guid Id)>();
        string? cursor = null;
        var page = 0;
        do
        {
            var json = client.GetFromJsonAsync<JsonElement>($"/v1/traces?limit={test.PageSize}" + (cursor is null ? string.Empty : "&cursor=" + cursor)).GetAwaiter().GetResult();
            seen.AddRange(json.GetProperty("data").EnumerateArray().Select(t => (t.GetProperty("started_at").GetDateTimeOffset(), t.GetProperty("id").GetGuid())));
            cursor = json.GetProperty("next_cursor").GetString();

            // Rows arrive between pages: some newer than everything, some at existing timestamps.
            var inserts = test.InsertedBetween[page % test.InsertedBetween.Length];
            if (inserts > 0)
            {
                var fresh = Enumerable.Range(0, inserts).Select(i => Row(tenant, i % 2 == 0 ? origin.AddMinutes(100) : origin.AddMinutes(3))).ToList();
                data.WriteAsync(tenant, db => { db.Traces.AddRange(fresh); return Task.CompletedTask; }, CancellationToken.None).GetAwaiter().GetResult();
            }

            page++;
        }
        while (cursor is not null && page < 200);

        var ids = seen.Select(s => s.Id).ToList();
        var everyOriginalOnce = original.All(o => ids.Count(id => id == o.Id) == 1);
        var noDuplicates = ids.Distinct().Count() == ids.Count;
        var ordered = seen.Zip(seen.Skip(1)).All(p => p.First.At > p.Second.At || (p.First.At == p.Second.At && p.First.Id.CompareTo(p.Second.Id) > 0));
        // Guid.CompareTo orders as PostgreSQL orders uuid (by the textual, big-endian form).
        return everyOriginalOnce && noDuplicates && ordered;
    }

}
