namespace App.Application.Embeddings;

/// <summary>One input of an embeddings request: a text, or a token array of the model's own tokenizer.</summary>
public readonly record struct EmbeddingItem(string? Text, IReadOnlyList<int>? Tokens)
{
    public static EmbeddingItem FromText(string text) => new(text, null);

    public static EmbeddingItem FromTokens(IReadOnlyList<int> tokens) => new(null, tokens);

    /// <summary>Tokens to reserve before the call: the array's length, or about four characters a token.</summary>
    public long EstimatedTokens => Tokens?.Count ?? ((Text!.Length + 3) / 4);
}
