using App.Application.Calls;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>The answer, or the error the client would have been told, with what happened on the way.</summary>
public sealed record ChatCallResult(ChatResponse? Response, ChatCallRecord Record, GatewayException? Error);
