namespace App.Api.Idempotency;

/// <summary>Opts an endpoint into <see cref="IdempotencyMiddleware"/>.</summary>
internal static class IdempotencyExtensions
{
    public static RouteHandlerBuilder Idempotent(this RouteHandlerBuilder builder, bool required = false) =>
        builder.WithMetadata(new IdempotencyMetadata(required));
}
