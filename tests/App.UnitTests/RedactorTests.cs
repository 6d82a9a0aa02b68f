using App.Application.Privacy;

namespace App.UnitTests;

public class RedactorTests
{
    [Theory]
    [InlineData("mail me at jane.doe+ai@example.co.uk today", "mail me at [EMAIL] today", "EMAIL")]
    [InlineData("card 4111 1111 1111 1111 exp 12/29", "card [CARD] exp 12/29", "CARD")]
    [InlineData("pay to DE89 3704 0044 0532 0130 00 please", "pay to [IBAN] please", "IBAN")]
    [InlineData("from 192.168.10.4 and 2001:db8::8a2e:370:7334", "from [IP] and [IP]", "IP")]
    [InlineData("call +44 20 7946 0958 now", "call [PHONE] now", "PHONE")]
    [InlineData("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "Bearer [JWT]", "JWT")]
    [InlineData("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "OPENAI_API_KEY=[SECRET]", "SECRET")]
    [InlineData("aws AKIAIOSFODNN7EXAMPLE here", "aws [SECRET] here", "SECRET")]
    [InlineData("db at postgres://admin:Pw8789x!@db.internal:5432/app down", "db at postgres://[SECRET]@db.internal:5432/app down", "SECRET")]
    public void ReplacesWithATypedPlaceholder(string input, string expected, string kind)
    {
        var result = Redactor.Redact(input);
        Assert.Equal(expected, result.Text);
        Assert.True(result.Counts[kind] >= 1);
    }

    [Theory]
    [InlineData("order 1234 5678 9012 3456 shipped")] // 16 digits, fails Luhn
    [InlineData("version 1.2.3 of the app")]
    [InlineData("it costs 42 euros at 10:30")]
    [InlineData("GB00 not an iban at all")]
    [InlineData("see https://example.com:8443/docs and mailto:x")]
    public void LeavesLookAlikesAlone(string input) => Assert.Equal(input, Redactor.Redact(input).Text);

    [Fact]
    public void CountsEachKind()
    {
        var result = Redactor.Redact("a@b.io, c@d.io, 4111111111111111");
        Assert.Equal(2, result.Counts["EMAIL"]);
        Assert.Equal(1, result.Counts["CARD"]);
        Assert.Equal(3, result.Total);
    }
}
