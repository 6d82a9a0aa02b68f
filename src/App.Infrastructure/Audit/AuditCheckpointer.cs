using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Audit;

/// <summary>Writes checkpoints every <see cref="AuditOptions.CheckpointInterval"/>, and once more on a graceful stop.</summary>
internal sealed partial class AuditCheckpointer(AuditLog audit, IOptions<AuditOptions> options, ILogger<AuditCheckpointer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await audit.CheckpointAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await audit.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or System.Data.Common.DbException or OperationCanceledException or IOException)
        {
            // The last checkpoint is a courtesy: a stop must not fail on it (the chain itself is intact).
            LogFinalCheckpointFailed(ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the final audit checkpoint ({ErrorType}: {Error})")]
    private partial void LogFinalCheckpointFailed(string errorType, string error);
}
