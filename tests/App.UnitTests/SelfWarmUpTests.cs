using App.Api.Hosting.WarmUp;

namespace App.UnitTests;

public class SelfWarmUpTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://[::]:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://*:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://+:8080/", "http://127.0.0.1:8080/")]
    [InlineData("http://localhost:5000", "http://127.0.0.1:5000/")]
    [InlineData("https://0.0.0.0:8443;http://0.0.0.0:8080", null)] // one address per entry: this one is not an address
    public void TheWarmUpCallsAPlainHttpAddressOnLoopback(string address, string? expected) =>
        Assert.Equal(expected, SelfWarmUp.Loopback([address])?.ToString());

    [Fact]
    public void AnHttpsOnlyServiceHasNothingToWarmUpThrough()
    {
        Assert.Null(SelfWarmUp.Loopback(["https://0.0.0.0:8443"]));
        Assert.Null(SelfWarmUp.Loopback([]));
        Assert.Equal("http://127.0.0.1:8080/", SelfWarmUp.Loopback(["https://0.0.0.0:8443", "http://0.0.0.0:8080"])?.ToString());
    }
}
