using System.ClientModel;
using System.ClientModel.Primitives;
using App.Testing;
using OpenAI;
using OpenAI.Chat;

namespace App.IntegrationTests;

/// <summary>The official OpenAI .NET SDK, unchanged, pointed at the gateway by base URL, with an access token as its key.</summary>
public class OpenAiSdkTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline());

    // The access token is the SDK's "API key": it sends it as the bearer token, which is all the gateway needs.
    private ChatClient Sdk(string model) => new(
        model,
        new ApiKeyCredential(Factory.MintToken(Tenant, "sdk-user", [App.Application.Identity.Scopes.ChatInvoke])),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(Client.BaseAddress!, "/v1"),
            Transport = new HttpClientPipelineTransport(Factory.CreateClient()),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

    [Fact]
    public async Task CompletesAPlainChatCall()
    {
        ChatCompletion completion = await Sdk("gpt").CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("hello from the sdk")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 50 });
        Assert.StartsWith("Echo: hello from the sdk", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("primary", completion.Model);
        Assert.True(completion.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task CompletesAStreamingChatCall()
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in Sdk("offline").CompleteChatStreamingAsync([new UserChatMessage("stream to the sdk")], new ChatCompletionOptions { Temperature = 0 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(updates > 5);
        Assert.StartsWith("Offline answer about \"stream to the sdk\":", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);

        // The same request without streaming gives the same text (and now comes from the cache).
        ChatCompletion again = await Sdk("offline").CompleteChatAsync([new UserChatMessage("stream to the sdk")], new ChatCompletionOptions { Temperature = 0 });
        Assert.Equal(text.ToString(), again.Content[0].Text);
    }

    [Fact]
    public async Task AnInvalidKeyIsAnAuthenticationErrorForTheSdk()
    {
        var sdk = new ChatClient("gpt", new ApiKeyCredential("sk-not-a-token"), new OpenAIClientOptions
        {
            Endpoint = new Uri(Client.BaseAddress!, "/v1"),
            Transport = new HttpClientPipelineTransport(Factory.CreateClient()),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, ex.Status);
        Assert.Equal(0, Upstream.Requests);
    }

    [Fact]
    public async Task SurfacesGatewayErrorsAsSdkExceptions()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk("no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, ex.Status);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }
}
