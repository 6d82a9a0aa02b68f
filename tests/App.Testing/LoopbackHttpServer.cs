using System.Globalization;
using System.Net;
using System.Text;

namespace App.Testing;

/// <summary>
/// A small HTTP server on a free loopback port that answers each request with what the test's function gives for its
/// path: the stand-in for a service a gate reads (a package source's advisories, an instance's metrics).
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<string, (int Status, string ContentType, string Body)> _answer;
    private readonly Task _serving;

    public LoopbackHttpServer(Func<string, (int Status, string ContentType, string Body)> answer)
    {
        _answer = answer;
        Url = $"http://127.0.0.1:{TestServers.FreePort().ToString(CultureInfo.InvariantCulture)}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = ServeAsync();
    }

    /// <summary>The server's root, ending with a slash.</summary>
    public string Url { get; }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var (status, contentType, body) = _answer(context.Request.Url?.AbsolutePath ?? "/");
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body));
            context.Response.Close();
        }
    }
}
