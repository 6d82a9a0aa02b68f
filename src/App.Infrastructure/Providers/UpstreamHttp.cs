using System.Net.Http.Headers;
using App.Application.Gateway;
using App.Application.Routing;

namespace App.Infrastructure.Providers;

/// <summary>How every OpenAI-compatible provider sends a request: with its key, and with each failure turned into an <see cref="UpstreamException"/>.</summary>
internal static class UpstreamHttp
{
    /// <summary>Adds the deployment's key: as a bearer token, or in the header it names (e.g. Azure OpenAI's <c>api-key</c>).</summary>
    public static void Authorize(HttpRequestMessage request, DeploymentOptions deployment)
    {
        if (string.Equals(deployment.ApiKeyHeader, "Authorization", StringComparison.OrdinalIgnoreCase))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", deployment.ApiKey);
        }
        else
        {
            request.Headers.TryAddWithoutValidation(deployment.ApiKeyHeader, deployment.ApiKey);
        }
    }

    /// <summary>The successful response; anything else is thrown as the failure it stands for.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, HttpCompletionOption completion, TimeProvider time, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamException(UpstreamFailureKind.Network, $"The upstream could not be reached ({ex.HttpRequestError}).", inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamException(UpstreamFailureKind.Timeout, "The upstream did not answer in time.", inner: ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await UpstreamFailures.FromResponseAsync(response, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
