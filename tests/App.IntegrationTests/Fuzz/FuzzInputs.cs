using System.Text;
using System.Text.Json.Nodes;
using App.Testing.Fuzz;
using FsCheck;
using FsCheck.Fluent;

namespace App.IntegrationTests.Fuzz;

/// <summary>
/// Requests for one operation of the document, each bending one thing: a path or query parameter, or the body
/// (malformed, oversized, a member of the wrong type, hostile strings, an unknown member, the wrong media type).
/// </summary>
public static class FuzzInputs
{
    private static readonly string[] WrongScalars = ["not-a-number", "-1", "0", "99999999999999999999", "1e309", "NaN", "true", "[]", "{}", string.Empty, "00000000-0000-0000-0000-00000000000g"];
    private static readonly string[] RawEncodings = ["%ED%A0%80", "%FF%FE", "%00", "%C0%AF", "..%2F..%2Fetc%2Fpasswd", "%252e%252e%252f"];
    private static readonly string[] WrongJson = ["12345678901234567890123456789", "-1", "1e309", "true", "null", "[]", "{}", "\"text\"", "[[[[[]]]]]", "{\"a\":{\"b\":{}}}", "0.0000001", "\"\"", "-0"];
    private const string SpliceMark = "\"__splice__\"";
    private static readonly string[] TopLevel = ["[]", "\"x\"", "42", "null", "true", "[{}]"];

    public static Gen<FuzzRequest> For(ApiDocument document, ApiOperation operation, int bodyLimit)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var sample = operation.BodySchema is null ? null : SchemaSamples.For(document, operation.BodySchema);
        var takesBody = operation.BodyMediaType is not null || operation.Method is "POST" or "PUT" or "PATCH";
        var focus = takesBody ? Gen.Frequency((1, Gen.Constant(false)), (3, Gen.Constant(true))) : Gen.Constant(false);
        return from bodyFocus in focus
               from token in Gen.Frequency((5, Gen.Constant(true)), (1, Gen.Constant(false)))
               from target in TargetOf(operation, bend: !bodyFocus)
               from body in !takesBody ? Gen.Constant(Body.None) : bodyFocus ? BentBody(sample, bodyLimit) : Gen.Constant(Body.Json(sample, "a plausible body"))
               from key in operation.Method == "POST" ? IdempotencyKey() : Gen.Constant<string?>(null)
               select new FuzzRequest(
                   operation.Method,
                   target.PathAndQuery,
                   body.Bytes,
                   body.ContentType,
                   token,
                   key,
                   bodyFocus ? body.Description : target.Description,
                   [.. target.Values, .. body.Values]);
    }

    /// <summary>Percent-encodes the UTF-8 of a value (a lone surrogate becomes U+FFFD, as any client would send it).</summary>
    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var encoded = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            encoded.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '~' ? c.ToString() : $"%{b:X2}");
        }

        return encoded.ToString();
    }

    private static Gen<Target> TargetOf(ApiOperation operation, bool bend)
    {
        var parameters = operation.Parameters.Where(p => p.In is "path" or "query").ToList();
        // An empty or dot-only path segment would address another route, not bend this one.
        var values = Gen.CollectToList(parameters, p => bend
            ? BentValue(p).Where(v => p.In != "path" || v is null || v.Text.Trim('.').Length > 0)
            : Gen.Constant<Value?>(Valid(p)));
        var stray = bend
            ? Gen.Frequency((1, HostileText.Strings().Select(s => (Value?)new Value(s, $"the undeclared query parameter 'x' = {s}"))), (2, Gen.Constant<Value?>(null)))
            : Gen.Constant<Value?>(null);
        return from chosen in values
               from extra in stray
               select Build(operation, parameters, chosen, extra);
    }

    private static Target Build(ApiOperation operation, List<ApiParameter> parameters, IList<Value?> chosen, Value? extra)
    {
        var path = operation.Path;
        var query = new List<string>();
        var said = new List<string>();
        var values = new List<string>();
        for (var i = 0; i < parameters.Count; i++)
        {
            if (chosen[i] is not { } value)
            {
                said.Add($"{parameters[i].Name} left out");
                continue;
            }

            var text = value.Raw ? value.Text : Encode(value.Text);
            values.Add(value.Text);
            said.Add($"{parameters[i].Name}: {value.Description}");
            if (parameters[i].In == "path")
            {
                path = path.Replace("{" + parameters[i].Name + "}", text, StringComparison.Ordinal);
            }
            else
            {
                query.Add($"{Encode(parameters[i].Name)}={text}");
            }
        }

        if (extra is not null)
        {
            query.Add("x=" + Encode(extra.Text));
            values.Add(extra.Text);
            said.Add(extra.Description);
        }

        var description = said.Count == 0 ? "no parameters" : string.Join("; ", said);
        return new Target(query.Count == 0 ? path : path + "?" + string.Join('&', query), description, values);
    }

    private static Value Valid(ApiParameter parameter) => new(
        SchemaSamples.TypeOf(parameter.Schema) is "integer" or "number" ? "1" : (string?)parameter.Schema?["format"] == "uuid" ? "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b" : "hello",
        "a plausible value");

    private static Gen<Value?> BentValue(ApiParameter parameter)
    {
        var bent = Gen.Frequency(
            (4, HostileText.Strings().Select(s => (Value?)new Value(s, "a hostile string"))),
            (2, Gen.Elements(WrongScalars).Select(s => (Value?)new Value(s, $"a wrong value '{s}'"))),
            (1, Gen.Elements(RawEncodings).Select(s => (Value?)new Value(s, $"the raw encoding '{s}'", Raw: true))),
            (1, Gen.Choose(500, 4000).Select(n => (Value?)new Value(new string('9', n), $"{n} digits"))),
            (1, Guids().Select(g => (Value?)new Value(g, "an unknown id"))),
            (1, Gen.Constant((Value?)Valid(parameter))));
        return parameter.Required ? bent : Gen.Frequency((5, bent), (1, Gen.Constant<Value?>(null)));
    }

    private static Gen<string> Guids() =>
        from a in Gen.Choose(int.MinValue, int.MaxValue)
        from b in Gen.Choose(int.MinValue, int.MaxValue)
        select new Guid([.. BitConverter.GetBytes(a), .. BitConverter.GetBytes(b), .. BitConverter.GetBytes(a ^ b), .. BitConverter.GetBytes(~a)]).ToString();

    private static Gen<string?> IdempotencyKey() => Gen.Frequency(
        (4, Gen.Constant<string?>(null)),
        (1, Gen.Elements<string?>("../../etc/passwd", "' OR '1'='1", "{{7*7}}", new string('k', 300), "%00", "a b")));

    private static Gen<Body> BentBody(JsonNode? sample, int bodyLimit) => Gen.Frequency(
        (3, MemberBent(sample, HostileText.Strings().Select(s => (Literal(s), s)), "a hostile string")),
        (3, MemberBent(sample, Gen.Elements(WrongJson).Select(j => (j, string.Empty)), "a member of the wrong type")),
        (4, Malformed(sample)),
        (1, Gen.Constant(Body.Json(With(sample, "unexpected_member", new string('a', bodyLimit + 1024)), "a body over the size limit"))),
        (1, HostileText.Strings().Select(s => Body.Spliced(With(sample, "unexpected_member", SpliceNode()), Literal(s), "an unknown member", s))),
        (1, Gen.Elements(TopLevel).Select(t => Body.Text(t, "application/json", $"the top-level value {t}"))),
        (1, Gen.Elements("text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16")
            .Select(type => Body.Text(Body.Json(sample, string.Empty).Decoded, type, $"the media type {type}"))),
        (1, Gen.Constant(new Body(Encoding.UTF8.GetBytes(Body.Json(sample, string.Empty).Decoded), null, "no media type", []))));

    /// <summary>The sample with one member, chosen at random at any depth, replaced by raw JSON text.</summary>
    private static Gen<Body> MemberBent(JsonNode? sample, Gen<(string Json, string Value)> replacement, string what)
    {
        var slots = Slots(sample).ToList();
        if (slots.Count == 0)
        {
            return replacement.Select(r => Body.Text(r.Json, "application/json", $"{what} for the whole body", r.Value));
        }

        return from index in Gen.Choose(0, slots.Count - 1)
               from value in replacement
               select Replace(sample!, slots[index], value, what);
    }

    private static Body Replace(JsonNode sample, string[] slot, (string Json, string Value) replacement, string what)
    {
        var copy = sample.DeepClone();
        JsonNode parent = copy;
        foreach (var step in slot[..^1])
        {
            parent = parent is JsonArray a ? a[int.Parse(step, System.Globalization.CultureInfo.InvariantCulture)]! : parent[step]!;
        }

        if (parent is JsonArray array)
        {
            array[int.Parse(slot[^1], System.Globalization.CultureInfo.InvariantCulture)] = SpliceNode();
        }
        else
        {
            parent[slot[^1]] = SpliceNode();
        }

        return Body.Spliced(copy, replacement.Json, $"{what} at {string.Join('.', slot)}", replacement.Value);
    }

    private static IEnumerable<string[]> Slots(JsonNode? node, string[]? at = null)
    {
        at ??= [];
        var children = node switch
        {
            JsonObject o => o.Select(p => (p.Key, p.Value)),
            JsonArray a => a.Select((v, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), v)),
            _ => [],
        };
        foreach (var (key, child) in children)
        {
            string[] here = [.. at, key];
            yield return here;
            foreach (var deeper in Slots(child, here))
            {
                yield return deeper;
            }
        }
    }

    private static Gen<Body> Malformed(JsonNode? sample)
    {
        var text = Body.Json(sample, string.Empty).Decoded;
        return Gen.OneOf(
            Gen.Choose(0, Math.Max(0, text.Length - 1)).Select(n => Body.Text(text[..n], "application/json", $"cut after {n} characters")),
            from n in Gen.Choose(0, text.Length)
            from c in Gen.Elements("{", "}", "\"", ",", ":", "\\", "]", "\0", "\u00ff", "'")
            select Body.Text(text.Insert(n, c), "application/json", $"'{c}' inserted at {n}"),
            Gen.Constant(Body.Text(text.Replace(':', '='), "application/json", "= for :")),
            Gen.Constant(Body.Text(text.Replace('"', '\''), "application/json", "single quotes")),
            Gen.Constant(Body.Text(text.Length > 1 ? text[..^1] + ",}" : "{,}", "application/json", "a trailing comma")),
            Gen.Constant(Body.Text("/* comment */" + text, "application/json", "a comment")),
            Gen.Constant(Body.Text(text.Length > 1 && text.StartsWith('{') && sample is JsonObject { Count: > 0 } o ? "{\"" + o.First().Key + "\":" + Text(o.First().Value) + "," + text[1..] : "{\"a\":1,\"a\":2}", "application/json", "a member twice")),
            Gen.Constant(Body.Text(new string('[', 5000) + new string(']', 5000), "application/json", "5000 nested arrays")),
            Gen.Constant(Body.Text("\uFEFF" + text, "application/json", "a byte order mark")),
            Gen.Constant(Body.Text(string.Empty, "application/json", "an empty body")),
            Gen.Constant(Body.Text("NaN", "application/json", "NaN")),
            Gen.Constant(new Body([.. Encoding.UTF8.GetBytes("{\"model\":\"gp"), 0xFF, 0xC3, 0x28, .. Encoding.UTF8.GetBytes("t\"}")], "application/json", "invalid UTF-8", [])));
    }

    private static JsonObject With(JsonNode? sample, string member, JsonNode? value)
    {
        var copy = sample is JsonObject ? sample.DeepClone().AsObject() : [];
        copy[member] = value;
        return copy;
    }

    private static JsonObject With(JsonNode? sample, string member, string value) => With(sample, member, JsonValue.Create(value));

    /// <summary>
    /// A JSON string literal with every character outside printable ASCII as a <c>\u</c> escape, so a lone surrogate
    /// reaches the service as an attacker sends it (a serializer would replace it).
    /// </summary>
    public static string Literal(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var json = new StringBuilder("\"");
        foreach (var c in value)
        {
            json.Append(c is >= ' ' and <= '~' and not '"' and not '\\' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return json.Append('"').ToString();
    }

    private static JsonValue SpliceNode() => JsonValue.Create("__splice__")!;

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";

    private sealed record Value(string Text, string Description, bool Raw = false);

    private sealed record Target(string PathAndQuery, string Description, IReadOnlyList<string> Values);

    private sealed record Body(byte[]? Bytes, string? ContentType, string Description, IReadOnlyList<string> Values)
    {
        public static readonly Body None = new(null, null, "no body", []);

        public string Decoded => Bytes is null ? string.Empty : Encoding.UTF8.GetString(Bytes);

        public static Body Json(JsonNode? node, string description, params string[] values) =>
            new(Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null"), "application/json", description, values);

        public static Body Text(string text, string contentType, string description, params string[] values) =>
            new(Encoding.UTF8.GetBytes(text), contentType, description, values);

        /// <summary>The node as JSON with the raw text in place of <see cref="SpliceNode"/>.</summary>
        public static Body Spliced(JsonNode node, string json, string description, params string[] values) =>
            Text(node.ToJsonString().Replace(SpliceMark, json, StringComparison.Ordinal), "application/json", description, values);
    }
}
