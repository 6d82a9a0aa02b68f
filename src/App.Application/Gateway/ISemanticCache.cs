using App.Application.Caching;
using App.Application.Calls;

namespace App.Application.Gateway;

/// <summary>
/// The semantic cache as the gateway uses it, after an exact miss: an answer to a paraphrase of the question, found only
/// inside the request's hard partition and served only when verified, or null.
/// </summary>
public interface ISemanticCache
{
    ValueTask<CachedCompletion?> FindAsync(GatewayRequest request, CancellationToken cancellationToken);

    /// <summary>Keeps a complete answer for later paraphrases; never throws.</summary>
    ValueTask AddAsync(GatewayRequest request, CachedCompletion answer);
}
