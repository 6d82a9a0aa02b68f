namespace App.Infrastructure.Identity;

public sealed record PasskeyResult(PasskeyFailure Failure, TokenPair? Tokens, string? Detail = null)
{
    public static PasskeyResult Fail(PasskeyFailure failure, string? detail = null) => new(failure, null, detail);
}
