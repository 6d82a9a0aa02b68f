using System.Text.Json;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.OpenAi;

namespace App.UnitTests;

public class CacheKeyTests
{
    private const string Base = """
        {"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
         "temperature":0,"top_p":0.5,"max_tokens":20,"seed":7,"stop":["a","b"],"presence_penalty":0.1,"frequency_penalty":0.2,
         "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"number"}}}}}}
        """;

    private static string Key(string json, string scope = "t:a", int version = 1)
    {
        var request = JsonSerializer.Deserialize(json, OpenAiJson.Wire.ChatCompletionRequest)!;
        var mapped = ChatRequestMapper.Map(request, scope);
        return CacheKey.Compute("llm:cache:", version, mapped.Scope, mapped.Alias, mapped.Messages, mapped.Options);
    }

    private static string With(string member, string value)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(Base)!.AsObject();
        node[member] = System.Text.Json.Nodes.JsonNode.Parse(value);
        return node.ToJsonString();
    }

    [Fact]
    public void EquivalentRequestsShareAKey()
    {
        var key = Key(Base);
        // Member order and whitespace
        Assert.Equal(key, Key("""
            { "seed":7, "stop":["b","a","a"], "max_completion_tokens":20, "top_p":0.50, "temperature":0.0,
              "messages":[{"content":"Be brief.","role":"system"},{"content":[{"type":"text","text":"H"},{"type":"text","text":"i"}],"role":"user"}],
              "frequency_penalty":0.2, "presence_penalty":0.1, "model":"m",
              "response_format":{"json_schema":{"schema":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"number"}}},"name":"r"},"type":"json_schema"} }
            """));
        // Framing-only and never-forwarded members
        Assert.Equal(key, Key(With("stream", "true").Replace("\"stream\":true", "\"stream\":true,\"stream_options\":{\"include_usage\":true}", StringComparison.Ordinal)));
        Assert.Equal(key, Key(With("user", "\"someone\"")));
        // "developer" is the newer name of "system"
        Assert.Equal(key, Key(Base.Replace("\"role\":\"system\"", "\"role\":\"developer\"", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("model", "\"other\"")]
    [InlineData("temperature", "0.5")]
    [InlineData("top_p", "0.6")]
    [InlineData("max_tokens", "21")]
    [InlineData("seed", "8")]
    [InlineData("stop", "[\"a\"]")]
    [InlineData("presence_penalty", "0.3")]
    [InlineData("frequency_penalty", "0.3")]
    [InlineData("response_format", "{\"type\":\"json_object\"}")]
    [InlineData("response_format", "{\"type\":\"text\"}")]
    [InlineData("response_format", "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"},\"y\":{\"type\":\"number\"}}}}}")]
    [InlineData("response_format", "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":{\"type\":\"object\",\"properties\":{\"y\":{\"type\":\"number\"},\"x\":{\"type\":\"string\"}}}}}")]
    [InlineData("messages", "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi!\"}]")]
    [InlineData("messages", "[{\"role\":\"user\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]")]
    [InlineData("messages", "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\",\"name\":\"bob\"}]")]
    [InlineData("messages", "[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"system\",\"content\":\"Be brief.\"}]")]
    public void AnyOutputAffectingDifferenceChangesTheKey(string member, string value)
    {
        Assert.NotEqual(Key(Base), Key(With(member, value)));
    }

    [Fact]
    public void AnotherTenantOrCacheVersionChangesTheKey()
    {
        Assert.NotEqual(Key(Base, scope: "t:a"), Key(Base, scope: "t:b"));
        Assert.NotEqual(Key(Base, version: 1), Key(Base, version: 2));
    }

    [Fact]
    public void KeyRevealsNeitherPromptNorTenant()
    {
        var key = Key(Base.Replace("Hi", "my card is 4111111111111111", StringComparison.Ordinal), scope: "t:acme");
        Assert.Matches("^llm:cache:v1:[0-9a-f]{64}$", key);
    }

    [Theory]
    [InlineData("{\"temperature\":0}", true)]
    [InlineData("{\"seed\":1}", true)]
    [InlineData("{\"temperature\":0.7,\"seed\":1}", true)]
    [InlineData("{\"temperature\":0.7}", false)]
    [InlineData("{}", false)]
    public void OnlyDeterministicRequestsAreCacheable(string options, bool expected)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(options)!.AsObject();
        node["model"] = "m";
        node["messages"] = System.Text.Json.Nodes.JsonNode.Parse("[{\"role\":\"user\",\"content\":\"x\"}]");
        var mapped = ChatRequestMapper.Map(JsonSerializer.Deserialize(node.ToJsonString(), OpenAiJson.Wire.ChatCompletionRequest)!, "s");
        Assert.Equal(expected, CacheKey.IsDeterministic(mapped.Options));
    }

    [Fact]
    public void UserIsNeverPartOfTheForwardedOptions()
    {
        var mapped = ChatRequestMapper.Map(JsonSerializer.Deserialize(With("user", "\"u-1\""), OpenAiJson.Wire.ChatCompletionRequest)!, "s");
        Assert.Equal("u-1", mapped.EndUser);
        Assert.DoesNotContain("u-1", CacheKey.Canonical(1, mapped.Scope, mapped.Alias, mapped.Messages, mapped.Options), StringComparison.Ordinal);
        Assert.IsType<GatewayRequest>(mapped);
    }

    // The writer and buffer are reused per thread: a key must still be the hash of the request's own canonical
    // form, whatever the thread computed before (a larger request, one that grew the buffer past what is kept).
    [Fact]
    public void AKeyIsTheHashOfItsOwnCanonicalFormWhateverCameBefore()
    {
        static string Expected(string json)
        {
            var mapped = ChatRequestMapper.Map(JsonSerializer.Deserialize(json, OpenAiJson.Wire.ChatCompletionRequest)!, "t:a");
            var canonical = CacheKey.Canonical(1, mapped.Scope, mapped.Alias, mapped.Messages, mapped.Options);
            return "llm:cache:v1:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)));
        }

        var small = """{"model":"m","messages":[{"role":"user","content":"Hi"}],"temperature":0}""";
        var large = With("messages", "[{\"role\":\"user\",\"content\":\"" + new string('x', 200_000) + "\"}]");
        var requests = new[] { Base, small, large, small, Base, large, Base };
        Assert.All(requests, json => Assert.Equal(Expected(json), Key(json)));

        var keys = new System.Collections.Concurrent.ConcurrentBag<(string Json, string Key)>();
        Parallel.For(0, 400, i => keys.Add((requests[i % requests.Length], Key(requests[i % requests.Length]))));
        Assert.All(keys, k => Assert.Equal(Expected(k.Json), k.Key));
    }
}
