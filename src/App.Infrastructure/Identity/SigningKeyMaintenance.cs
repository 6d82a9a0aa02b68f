using System.Data.Common;
using App.Infrastructure.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace App.Infrastructure.Identity;

/// <summary>Loads the ring before the server accepts requests, then keeps it current.</summary>
internal sealed partial class SigningKeyMaintenance(SigningKeyRing ring, ILogger<SigningKeyMaintenance> logger) : BackgroundService
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(60);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await DatabaseOutage.WhileStartingAsync(ring.ReloadAsync, StartPatience, logger, cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SigningKeyRing.ReloadEvery);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await ring.ReloadAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException)
            {
                // Keep signing with what we have; the next tick tries again.
                LogReloadFailed(ex.GetType().Name, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reload the signing key ring ({ErrorType}: {Error})")]
    private partial void LogReloadFailed(string errorType, string error);
}
