namespace App.Infrastructure.Idempotency;

/// <summary>Whose key it is: keys are the caller's own, so two users of a tenant may use the same one.</summary>
public readonly record struct IdempotencyCaller(string Tenant, string User);
