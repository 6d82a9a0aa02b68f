using App.Application.Calls;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.Application.Guard;

/// <summary>The guard as each route applies it: which texts are scored, and whether a suspected input is refused.</summary>
public sealed class GuardPolicy(InputGuard guard, IOptionsMonitor<GuardOptions> options)
{
    public const string Chat = "chat";
    public const string Jobs = "jobs";
    public const string Prompts = "prompts";

    /// <summary>Scores what the end user wrote (user messages; system prompts are the application's own). Null when the route is off.</summary>
    public GuardVerdict? Check(string route, IEnumerable<string> texts) =>
        options.CurrentValue.For(route) == GuardAction.Off ? null : guard.Score(texts);

    public bool Blocks(string route, GuardVerdict? verdict) =>
        verdict is { Suspected: true } && options.CurrentValue.For(route) == GuardAction.Block;

    /// <summary>Refuses a suspected input on a route set to block (400 <c>input-rejected</c>, naming <paramref name="param"/>).</summary>
    public void ThrowIfBlocked(string route, GuardVerdict? verdict, string param)
    {
        if (Blocks(route, verdict))
        {
            throw new GatewayException(
                GatewayErrorKind.InputRejected,
                "The input was refused: it looks like an attempt to override the instructions it is given.",
                param);
        }
    }

    public static IEnumerable<string> UserTexts(IEnumerable<ChatMessage> messages) =>
        messages.Where(m => m.Role == ChatRole.User).Select(m => m.Text);
}
