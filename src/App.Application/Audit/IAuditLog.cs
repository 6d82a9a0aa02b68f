namespace App.Application.Audit;

/// <summary>The port security events are recorded through.</summary>
public interface IAuditLog
{
    Task AppendAsync(string tenantId, string kind, string actor, string? subject, object? data, CancellationToken cancellationToken);
}
