namespace App.Application.Prompts;

public sealed class PromptException(PromptFailure failure, string message, IReadOnlyList<string> errors) : Exception(message)
{
    public PromptFailure Failure { get; } = failure;

    public IReadOnlyList<string> Errors { get; } = errors;
}
