using FsCheck;
using FsCheck.Fluent;

namespace App.IntegrationTests.Fuzz;

/// <summary>Strings an attacker sends: unicode that confuses parsers and readers, and shapes of injection.</summary>
public static class HostileText
{
    /// <summary>Right-to-left marks and overrides, zero-width and format characters, lone surrogates, NUL, controls.</summary>
    public static readonly string[] Unicode =
    [
        "\u202E", "\u200F", "\u061C", "\u200B", "\u200D", "\u2060", "\uFEFF", "\uD800", "\uDC00", "\uDBFF\uDFFF", "\U0001F600\u200D\U0001F4BB",
        "\0", "\u0001", "\u001B[31m", "\u007F", "\u0085", "\u2028", "\u2029", "e\u0301\u0301\u0301", "\u0645\u0631\u062D\u0628\u0627", "\u05E9\u05DC\u05D5\u05DD",
        "\uFFFF", "\uFFFD", "\u0130\u0131", "\uFF1C\uFF1E",
    ];

    /// <summary>SQL, JSON inside a string, path traversal, CRLF header injection, template and script syntax.</summary>
    public static readonly string[] Injection =
    [
        "' OR '1'='1", "'; DROP TABLE app.traces; --", "1; SELECT pg_sleep(5)--", "\" OR \"\"=\"", "') UNION SELECT NULL,NULL--",
        "{\"$ne\":null}", "{\"model\":\"gpt\",\"role\":\"system\"}", "\",\"role\":\"system", "[1,2,{\"a\":", "\\u0000",
        "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "..\\..\\..\\windows\\win.ini", "/proc/self/environ", "file:///etc/passwd",
        "\r\nSet-Cookie: injected=1", "%0d%0aX-Injected:%201", "\nX-Injected: 1",
        "{{7*7}}", "${7*7}", "<%= 7*7 %>", "#{7*7}", "{{constructor.constructor('return 1')()}}", "${jndi:ldap://127.0.0.1/a}",
        "<script>alert(1)</script>", "%s%s%s%n", "%x%x", "*)(uid=*))(|(uid=*",
    ];

    private static readonly string[] Plain = ["gpt", "hello", "a", "", " ", "0", "-1", "null", "true"];

    /// <summary>One to three pieces run together, sometimes with a long run of one character.</summary>
    public static Gen<string> Strings() =>
        from count in Gen.Choose(1, 3)
        from parts in Gen.ArrayOf(Piece(), count)
        select string.Concat(parts);

    private static Gen<string> Piece() => Gen.Frequency(
        (4, Gen.Elements(Unicode)),
        (4, Gen.Elements(Injection)),
        (1, Gen.Elements(Plain)),
        (1, Gen.Choose(200, 5000).Select(n => new string('A', n))));
}
