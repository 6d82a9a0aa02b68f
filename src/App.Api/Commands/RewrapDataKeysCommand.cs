using System.Text.Json;
using App.Infrastructure.Persistence;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;

namespace App.Api.Commands;

/// <summary>
/// <c>rewrap-data-keys</c>: wraps every tenant's data keys under <c>Encryption:ActiveKey</c>, as the schema owner
/// (<c>ConnectionStrings:PostgresMigrations</c>), and prints what it did. Run after making a new master key active;
/// once it reports nothing left to re-wrap, the old master key no longer wraps any data key. Safe to run again.
/// </summary>
internal static class RewrapDataKeysCommand
{
    public static async Task RunAsync(WebApplication app)
    {
        var encryption = app.Services.GetRequiredService<KeyEncryption>();
        await using var owner = Database.OwnerDataSource(app.Configuration);
        await using var connection = await owner.OpenConnectionAsync();
        var report = await DataKeyRewrap.RunAsync(connection, encryption, CancellationToken.None);
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(report));
    }
}
