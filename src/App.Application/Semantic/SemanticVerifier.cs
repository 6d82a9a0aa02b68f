using System.Text.RegularExpressions;

namespace App.Application.Semantic;

/// <summary>
/// The check after the similarity: two questions that embed close together may still ask opposite or different
/// things. They agree only if they have the same negation (both negated or neither), the same numbers and the same
/// named entities (capitalised words not opening a sentence, words with digits or inner capitals, quoted text). A
/// sentence embedding model places "How do I reset my password?" and "How do I not reset my password?" closer than two
/// of its paraphrases: the threshold alone cannot tell them apart, this can.
/// </summary>
public static partial class SemanticVerifier
{
    private static readonly HashSet<string> Negations = new(StringComparer.OrdinalIgnoreCase)
    {
        "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without", "cannot", "except", "unless", "instead",
    };

    // Number words read as the numbers they stand for, so "two" and "2" agree and "two" and "three" do not.
    private static readonly Dictionary<string, string> NumberWords =
        "zero=0 one=1 two=2 three=3 four=4 five=5 six=6 seven=7 eight=8 nine=9 ten=10 eleven=11 twelve=12 twenty=20 thirty=30 hundred=100 thousand=1000 million=1000000 billion=1000000000 first=1st second=2nd third=3rd half=0.5 double=x2 twice=x2 once=x1"
            .Split(' ')
            .Select(pair => pair.Split('='))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the two texts agree on negation, numbers and named entities.</summary>
    public static bool Agree(string cached, string asked)
    {
        ArgumentNullException.ThrowIfNull(cached);
        ArgumentNullException.ThrowIfNull(asked);
        var a = Features.Of(cached);
        var b = Features.Of(asked);
        // An entity written in lower case by one side still counts if the other side names it.
        return a.Negated == b.Negated && a.Numbers.SetEquals(b.Numbers) && a.Entities.IsSubsetOf(b.Words) && b.Entities.IsSubsetOf(a.Words);
    }

    [GeneratedRegex(@"""[^""]+""|'[^']{2,}'|[\p{L}\p{N}][\p{L}\p{N}'’.\-]*|[.!?]", RegexOptions.CultureInvariant)]
    private static partial Regex Tokens();

    [GeneratedRegex(@"^\d+(?:[.,]\d+)*(?:st|nd|rd|th|%|k|m)?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Number();

    private sealed record Features(bool Negated, HashSet<string> Numbers, HashSet<string> Entities, HashSet<string> Words)
    {
        public static Features Of(string text)
        {
            var negated = false;
            var numbers = new HashSet<string>(StringComparer.Ordinal);
            var entities = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var words = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var sentenceStart = true;
            foreach (Match match in Tokens().Matches(text))
            {
                var token = match.Value.TrimEnd('.', '-');
                if (token.Length == 0 || token is "!" or "?")
                {
                    sentenceStart = true;
                    continue;
                }

                words.Add(token.Trim('"', '\''));
                if (token[0] is '"' or '\'')
                {
                    entities.Add(token.Trim('"', '\''));
                    sentenceStart = false;
                    continue;
                }

                var lower = token.ToLowerInvariant().Replace('’', '\'');
                if (Negations.Contains(lower) || lower.EndsWith("n't", StringComparison.Ordinal))
                {
                    negated = true;
                }
                else if (Number().IsMatch(token))
                {
                    numbers.Add(token.Replace(",", string.Empty, StringComparison.Ordinal).ToLowerInvariant());
                }
                else if (NumberWords.TryGetValue(lower, out var value))
                {
                    numbers.Add(value);
                }
                else if (IsEntity(token, sentenceStart))
                {
                    entities.Add(token);
                }

                sentenceStart = match.Value.EndsWith('.') && !char.IsDigit(match.Value[0]);
            }

            return new Features(negated, numbers, entities, words);
        }

        private static bool IsEntity(string token, bool sentenceStart)
        {
            var innerCapital = token.Skip(1).Any(char.IsUpper);
            var hasDigit = token.Any(char.IsDigit);
            return innerCapital || hasDigit || (!sentenceStart && char.IsUpper(token[0]) && token != "I");
        }
    }
}
