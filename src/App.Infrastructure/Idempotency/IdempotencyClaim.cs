namespace App.Infrastructure.Idempotency;

public sealed record IdempotencyClaim(IdempotencyState State, StoredResponse? Response = null);
