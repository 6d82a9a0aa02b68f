using System.Text.Json;
using App.Application.Calls;
using App.Application.OpenAi;
using Microsoft.Extensions.AI;

namespace App.UnitTests;

public class ChatRequestMapperTests
{
    private static GatewayRequest Map(string json) =>
        ChatRequestMapper.Map(JsonSerializer.Deserialize(json, OpenAiJson.Wire.ChatCompletionRequest)!, "scope");

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""{"model":"","messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[]}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","content":"x"}]}""", "messages[1].role")]
    [InlineData("""{"model":"m","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x","name":"has space"}]}""", "messages[0].name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":2.5}""", "temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":-0.1}""", "temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5}""", "top_p")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"presence_penalty":3}""", "presence_penalty")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"frequency_penalty":-3}""", "frequency_penalty")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}""", "max_completion_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":6}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}""", "n")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":""}""", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}""", "response_format.type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{}}""", "response_format.type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}}}""", "response_format.json_schema.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"ok","schema":[]}}}""", "response_format.json_schema.schema")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text","json_schema":{"name":"ok","schema":{}}}}""", "response_format.json_schema")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}""", "stream_options")]
    public void RefusalNamesTheOffendingMember(string json, string param)
    {
        var ex = Assert.Throws<GatewayException>(() => Map(json));
        Assert.Equal(GatewayErrorKind.InvalidRequest, ex.Kind);
        Assert.Equal(param, ex.Param);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void MapsEveryForwardedField()
    {
        var r = Map("""
            {"model":"m","messages":[{"role":"developer","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"name":"bob"},{"role":"assistant","content":"c"}],
             "temperature":0.3,"top_p":0.9,"max_completion_tokens":12,"seed":42,"stop":"END","presence_penalty":0.5,"frequency_penalty":-0.5,
             "response_format":{"type":"json_schema","json_schema":{"name":"out","description":"d","strict":true,"schema":{"type":"object"}}},
             "stream":true,"stream_options":{"include_usage":true},"user":"u"}
            """);
        Assert.Equal("m", r.Alias);
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], r.Messages.Select(m => m.Role));
        Assert.Equal("ab", r.Messages[1].Text);
        Assert.Equal("bob", r.Messages[1].AuthorName);
        Assert.Equal(0.3f, r.Options.Temperature);
        Assert.Equal(0.9f, r.Options.TopP);
        Assert.Equal(12, r.Options.MaxOutputTokens);
        Assert.Equal(42, r.Options.Seed);
        Assert.Equal(["END"], r.Options.StopSequences!);
        Assert.Equal(0.5f, r.Options.PresencePenalty);
        Assert.Equal(-0.5f, r.Options.FrequencyPenalty);
        var format = Assert.IsType<ChatResponseFormatJson>(r.Options.ResponseFormat);
        Assert.Equal("out", format.SchemaName);
        Assert.Equal("d", format.SchemaDescription);
        Assert.Equal(true, r.Options.AdditionalProperties!["strict"]);
        Assert.Equal("u", r.EndUser);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"foo":1}""", "$.foo")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x","extra":1}]}""", "$.messages[0].extra")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "$.temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "$.stream")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":7}""", "$.stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "$.messages[0].content")]
    public void WireParsingRejectsUnknownMembersAndWrongTypesWithTheirPath(string json, string path)
    {
        var ex = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, OpenAiJson.Wire.ChatCompletionRequest));
        Assert.Equal(path, ex.Path);
    }
}
