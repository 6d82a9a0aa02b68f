using System.Text;
using App.Application;

namespace App.UnitTests;

public class CanonicalJsonTests
{
    private static string Hash(string json) => Convert.ToHexString(CanonicalJson.Hash("POST /v1/jobs\n"u8, Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("""{"a":1,"b":[true,null,"x"]}""", """ { "b" : [ true , null , "x" ] , "a" : 1 } """)]
    [InlineData("""{"s":"café"}""", """{"s":"caf\u00e9"}""")]
    [InlineData("""{"s":"a/b"}""", """{"s":"a\/b"}""")]
    [InlineData("""{"o":{"z":1,"y":{"b":2,"a":1}}}""", """{"o":{"y":{"a":1,"b":2},"z":1}}""")]
    public void TheSameJsonWrittenAnotherWayHashesTheSame(string one, string other) => Assert.Equal(Hash(one), Hash(other));

    [Theory]
    [InlineData("""{"a":1}""", """{"a":2}""")]
    [InlineData("""{"a":1}""", """{"a":1.0}""")]
    [InlineData("""{"a":[1,2]}""", """{"a":[2,1]}""")]
    [InlineData("""{"a":"x"}""", """{"A":"x"}""")]
    public void DifferentJsonHashesDifferently(string one, string other) => Assert.NotEqual(Hash(one), Hash(other));

    [Fact]
    public void ABodyThatIsNotJsonIsHashedAsItsBytes()
    {
        Assert.Null(CanonicalJson.Canonical("{not json"u8));
        Assert.Equal(Hash("{not json"), Hash("{not json"));
        Assert.NotEqual(Hash("{not json"), Hash("{not  json"));
    }

    [Fact]
    public void ThePrefixIsPartOfTheIdentity() =>
        Assert.NotEqual(
            Convert.ToHexString(CanonicalJson.Hash("POST /a\n"u8, "{}"u8)),
            Convert.ToHexString(CanonicalJson.Hash("POST /b\n"u8, "{}"u8)));
}
