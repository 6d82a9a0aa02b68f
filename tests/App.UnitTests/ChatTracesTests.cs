using System.Diagnostics;
using App.Application.Calls;
using App.Application.Traces;
using Microsoft.Extensions.AI;

namespace App.UnitTests;

public class ChatTracesTests
{
    private static readonly GatewayRequest Request = new("m", [new ChatMessage(ChatRole.User, "hi")], new ChatOptions(), "t", null);

    [Fact]
    public void ATraceCarriesTheTraceIdOfTheRequestsActivity()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        var draft = ChatTraces.Draft("t", "u", Request, new ChatCallRecord(), streamed: false, DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1), null);
        Assert.Equal(activity.TraceId.ToHexString(), draft.Record.TraceId);
    }

    [Fact]
    public void ARequestWithoutAnActivityStillGetsATraceIdOfTheSameForm()
    {
        Activity.Current = null;
        var first = ChatTraces.Draft("t", "u", Request, new ChatCallRecord(), streamed: false, DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1), null);
        var second = ChatTraces.Draft("t", "u", Request, new ChatCallRecord(), streamed: false, DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1), null);
        Assert.Matches("^[0-9a-f]{32}$", first.Record.TraceId);
        Assert.NotEqual(first.Record.TraceId, second.Record.TraceId);
    }
}
