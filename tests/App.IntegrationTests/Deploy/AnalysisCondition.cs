using System.Globalization;

namespace App.IntegrationTests.Deploy;

/// <summary>
/// Evaluates an Argo Rollouts success or failure condition (an expr-lang expression over <c>result</c>, the vector a
/// Prometheus query answered) the way the controller does for the forms the AnalysisTemplate uses: numbers,
/// <c>result</c>, <c>result[i]</c>, <c>len(...)</c>, <c>isNaN(...)</c>, comparisons, <c>!</c>, <c>&amp;&amp;</c>, <c>||</c> and
/// parentheses. Anything else is refused with an error, so a template edited beyond this subset fails the test that
/// reads it instead of being judged wrongly. As in expr, an index past the end is an error (a measurement Error).
/// </summary>
public sealed class AnalysisCondition
{
    private readonly string _text;
    private readonly IReadOnlyList<double> _result;
    private int _at;

    private AnalysisCondition(string text, IReadOnlyList<double> result)
    {
        _text = text;
        _result = result;
    }

    public static bool Evaluate(string condition, IReadOnlyList<double> result)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var parser = new AnalysisCondition(condition, result);
        var value = parser.Or();
        parser.SkipSpace();
        if (parser._at != condition.Length)
        {
            throw parser.Error("unexpected text");
        }

        return value as bool? ?? throw parser.Error("the condition is not a boolean");
    }

    private object Or()
    {
        var left = And();
        while (Accept("||"))
        {
            // expr short-circuits: the right side of a true left is not evaluated, so it raises no error.
            if (AsBool(left))
            {
                SkipOperand(stopAtAnd: false);
                continue;
            }

            left = AsBool(And());
        }

        return left;
    }

    private object And()
    {
        var left = Comparison();
        while (Accept("&&"))
        {
            // As above: len(result) == 1 && result[0] <= x never indexes an empty result.
            if (!AsBool(left))
            {
                SkipOperand(stopAtAnd: true);
                continue;
            }

            left = AsBool(Comparison());
        }

        return left;
    }

    private object Comparison()
    {
        var left = Unary();
        foreach (var op in new[] { "<=", ">=", "==", "!=", "<", ">" })
        {
            if (Accept(op))
            {
                var a = AsNumber(left);
                var b = AsNumber(Unary());
                return op switch
                {
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "==" => a == b,
                    "!=" => a != b,
                    "<" => a < b,
                    _ => a > b,
                };
            }
        }

        return left;
    }

    private object Unary()
    {
        if (Accept("!"))
        {
            return !AsBool(Unary());
        }

        if (Accept("("))
        {
            var inner = Or();
            Expect(")");
            return inner;
        }

        if (Accept("len("))
        {
            var inner = Or();
            Expect(")");
            return inner is IReadOnlyList<double> list ? list.Count : throw Error("len() of something that is not a list");
        }

        if (Accept("isNaN("))
        {
            var inner = AsNumber(Or());
            Expect(")");
            return double.IsNaN(inner);
        }

        if (Accept("result"))
        {
            if (!Accept("["))
            {
                return _result;
            }

            var index = (int)Number();
            Expect("]");
            return index >= 0 && index < _result.Count ? _result[index] : throw Error($"index {index} out of range (len {_result.Count})");
        }

        return Number();
    }

    private double Number()
    {
        SkipSpace();
        var start = _at;
        while (_at < _text.Length && (char.IsAsciiDigit(_text[_at]) || _text[_at] is '.' or 'e' or 'E' || (_at > start && _text[_at] is '-' or '+' && _text[_at - 1] is 'e' or 'E')))
        {
            _at++;
        }

        return _at > start && double.TryParse(_text.AsSpan(start, _at - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Error("expected a number, result, len(), isNaN() or (");
    }

    /// <summary>Steps over the right side of a short-circuited operator without evaluating it.</summary>
    private void SkipOperand(bool stopAtAnd)
    {
        var depth = 0;
        while (_at < _text.Length)
        {
            var c = _text[_at];
            var rest = _text.AsSpan(_at);
            if (depth == 0 && ((stopAtAnd && rest.StartsWith("&&", StringComparison.Ordinal)) || rest.StartsWith("||", StringComparison.Ordinal) || c == ')'))
            {
                return;
            }

            depth += c is '(' or '[' ? 1 : c is ')' or ']' ? -1 : 0;
            _at++;
        }
    }

    private bool Accept(string token)
    {
        SkipSpace();
        if (!_text.AsSpan(_at).StartsWith(token, StringComparison.Ordinal))
        {
            return false;
        }

        // "<" must not take the first character of "<=", nor "!" that of "!=".
        if (token is "<" or ">" or "!" && _at + 1 < _text.Length && _text[_at + 1] == '=')
        {
            return false;
        }

        _at += token.Length;
        return true;
    }

    private void Expect(string token)
    {
        if (!Accept(token))
        {
            throw Error($"expected '{token}'");
        }
    }

    private void SkipSpace()
    {
        while (_at < _text.Length && char.IsWhiteSpace(_text[_at]))
        {
            _at++;
        }
    }

    private bool AsBool(object value) => value as bool? ?? throw Error("expected a boolean");

    private double AsNumber(object value) => value switch
    {
        double d => d,
        int i => i,
        _ => throw Error("expected a number"),
    };

    private FormatException Error(string what) => new($"{what} at {_at} in condition: {_text}");
}
