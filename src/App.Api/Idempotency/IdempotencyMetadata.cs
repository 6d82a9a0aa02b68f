namespace App.Api.Idempotency;

/// <summary>Marks an endpoint as honouring <c>Idempotency-Key</c> (required: requests without one are refused).</summary>
internal sealed record IdempotencyMetadata(bool Required);
