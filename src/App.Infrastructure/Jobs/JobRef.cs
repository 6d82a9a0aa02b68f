using System.Globalization;

namespace App.Infrastructure.Jobs;

/// <summary>A job's address on the queue: the tenant (to open its row under row-level security) and its id.</summary>
public readonly record struct JobRef(string Tenant, Guid Id)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Tenant}/{Id:N}");
}
