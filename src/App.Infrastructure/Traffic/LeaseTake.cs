namespace App.Infrastructure.Traffic;

/// <summary>What <see cref="CallerState.TryTake"/> found: the lease the call was taken from (and what the limits have left), calls to ask Redis for, a lease to give back.</summary>
internal readonly record struct LeaseTake(Lease? Lease, long RequestsLeft, long TokensLeft, int Ask, Lease? Expired, Task? Arriving = null);
