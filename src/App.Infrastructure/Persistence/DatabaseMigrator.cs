using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Persistence;

internal sealed class DatabaseMigrator(IOptions<DatabaseOptions> options, IConfiguration configuration, ILogger<DatabaseMigrator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.MigrateOnStart ? Database.MigrateAsync(configuration, logger, cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
