using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace App.PropertyTests;

/// <summary>A request as a list of members, so a property can reorder or change them.</summary>
public sealed record RequestSample(IReadOnlyList<KeyValuePair<string, JsonNode>> Members, int OrderSeed)
{
    public string ToJson(bool shuffled)
    {
        var members = Members.ToList();
        if (shuffled)
        {
            var rng = new Random(OrderSeed);
            members = [.. members.OrderBy(_ => rng.Next())];
        }

        var obj = new JsonObject();
        foreach (var (name, value) in members)
        {
            obj[name] = value.DeepClone();
        }

        return shuffled ? obj.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) : obj.ToJsonString();
    }

    public override string ToString() => ToJson(false);
}

/// <summary>A prompt and options for the offline model.</summary>
public sealed record OfflineSample(string Prompt, long Seed, int? MaxTokens, string? Stop)
{
    public override string ToString() => $"prompt={Prompt} seed={Seed} max={MaxTokens} stop={Stop}";
}

/// <summary>An arbitrary JSON object mixing known request members with wrong types and unknown members.</summary>
public sealed record JunkRequest(string Json)
{
    public override string ToString() => Json;
}

public static class Generators
{
    private static readonly string[] Pieces = ["a", "b", "Hello", " ", "  ", "\n", "\t", ",", ".", "!", "\"", "\\", "é", "漢字", "🚀", "0", "42", "{", "}", "[DONE]", "data:", "user", "ok"];

    public static Gen<string> Text =>
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements(Pieces), n)).Select(parts => string.Concat(parts));

    private static Gen<JsonNode> Message =>
        from role in Gen.Elements("system", "user", "assistant", "developer")
        from content in Text
        select (JsonNode)new JsonObject { ["role"] = role, ["content"] = content };

    private static Gen<KeyValuePair<string, JsonNode>> Member(string name, Gen<JsonNode> value) =>
        value.Select(v => new KeyValuePair<string, JsonNode>(name, v));

    private static readonly Gen<KeyValuePair<string, JsonNode>>[] Optional =
    [
        Member("temperature", Gen.Choose(0, 20).Select(t => (JsonNode)JsonValue.Create(t / 10.0))),
        Member("top_p", Gen.Choose(0, 10).Select(t => (JsonNode)JsonValue.Create(t / 10.0))),
        Member("max_tokens", Gen.Choose(1, 4096).Select(t => (JsonNode)JsonValue.Create(t))),
        Member("seed", Gen.Choose(-1000, 1000).Select(t => (JsonNode)JsonValue.Create((long)t * 7919))),
        Member("presence_penalty", Gen.Choose(-20, 20).Select(t => (JsonNode)JsonValue.Create(t / 10.0))),
        Member("frequency_penalty", Gen.Choose(-20, 20).Select(t => (JsonNode)JsonValue.Create(t / 10.0))),
        Member("stop", Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Elements("END", "stop", "##", "\n\n"), n)).Select(s => (JsonNode)new JsonArray([.. s.Select(x => (JsonNode)JsonValue.Create(x)!)]))),
        Member("response_format", Gen.Elements("text", "json_object").Select(t => (JsonNode)new JsonObject { ["type"] = t })),
        Member("user", Text.Select(t => (JsonNode)JsonValue.Create(t))),
    ];

    public static Arbitrary<RequestSample> Requests() => Arb.From(
        from messageCount in Gen.Choose(1, 4)
        from messages in Gen.ArrayOf(Message, messageCount)
        from model in Gen.Elements("gpt", "offline", "m-1")
        from chosen in Gen.SubListOf(Enumerable.Range(0, Optional.Length).ToArray())
        from optional in Gen.CollectToArray(chosen, i => Optional[i])
        from order in Gen.Choose(0, int.MaxValue)
        select new RequestSample(
            [
                new("model", JsonValue.Create(model)),
                new("messages", new JsonArray([.. messages.Select(m => m.DeepClone())])),
                .. optional,
            ],
            order));

    public static Arbitrary<OfflineSample> OfflinePrompts() => Arb.From(
        from prompt in Text
        from seed in Gen.Choose(int.MinValue, int.MaxValue)
        from max in Gen.OneOf(Gen.Constant<int?>(null), Gen.Choose(1, 80).Select(m => (int?)m))
        from stop in Gen.OneOf(Gen.Constant<string?>(null), Gen.Elements<string?>("the", "e", ".", "cache", " a"))
        select new OfflineSample(prompt, seed, max, stop));

    private static Gen<JsonNode?> AnyValue =>
        Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Choose(-5, 5000).Select(n => (JsonNode?)JsonValue.Create(n)),
            Gen.Choose(-30, 30).Select(n => (JsonNode?)JsonValue.Create(n / 7.0)),
            Text.Select(t => (JsonNode?)JsonValue.Create(t)),
            Gen.Constant<JsonNode?>(new JsonArray()),
            Gen.Constant<JsonNode?>(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "x" })),
            Gen.Constant<JsonNode?>(new JsonArray(JsonValue.Create("x"), JsonValue.Create(1))),
            Gen.Constant<JsonNode?>(new JsonObject()),
            Gen.Constant<JsonNode?>(new JsonObject { ["type"] = "json_schema" }),
            Gen.Constant<JsonNode?>(new JsonObject { ["include_usage"] = true }));

    private static readonly string[] Names =
    [
        "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "n",
        "presence_penalty", "frequency_penalty", "response_format", "stream", "stream_options", "user", "tools", "logprobs",
    ];

    public static Arbitrary<JunkRequest> Junk() => Arb.From(
        from count in Gen.Choose(0, 8)
        from names in Gen.ArrayOf(Gen.Elements(Names), count)
        from values in Gen.ArrayOf(AnyValue, count)
        select new JunkRequest(Build(names, values)));

    private static string Build(string[] names, JsonNode?[] values)
    {
        var obj = new JsonObject();
        for (var i = 0; i < names.Length; i++)
        {
            obj[names[i]] = values[i]?.DeepClone();
        }

        return obj.ToJsonString();
    }
}
