namespace App.Application.Prompts;

public enum PromptFailure
{
    /// <summary>The input does not match the template's input schema.</summary>
    InputInvalid,

    /// <summary>The model's output did not match the output schema, repair included.</summary>
    OutputInvalid,
}
