using App.Testing;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>The migrations dry run: the idempotent script builds the same schema, and running it twice changes nothing.</summary>
public sealed class MigrationScriptTests
{
    private static async Task<List<string>> SchemaAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT c.relname || ':' || c.relkind::text || ':' || c.relrowsecurity::text || ':' || c.relforcerowsecurity::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'app' ORDER BY c.relname
            """, connection);
        var result = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }

    [Fact]
    public async Task TheIdempotentScriptAppliesTwiceToAnEmptyDatabaseAndMatchesTheMigrations()
    {
        var script = Path.Combine(Path.GetTempPath(), $"migrations-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(script, App.Infrastructure.Persistence.Database.IdempotentScript());
        try
        {
            var empty = await Databases.EmptyAsync();
            var first = await Databases.PsqlAsync(empty.Owner, script);
            Assert.True(first.ExitCode == 0, first.Output);
            var second = await Databases.PsqlAsync(empty.Owner, script);
            Assert.True(second.ExitCode == 0, second.Output);

            var migrated = await Databases.FreshAsync();
            var expected = await SchemaAsync(migrated.Admin);
            Assert.Contains("traces:p:true:true", expected);
            Assert.Equal(expected, await SchemaAsync(empty.Admin));
        }
        finally
        {
            File.Delete(script);
        }
    }
}
