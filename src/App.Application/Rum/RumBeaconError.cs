namespace App.Application.Rum;

/// <summary>Why a beacon was refused: a code of the invalid-request family, the member at fault if any, and a sentence for the client.</summary>
public sealed record RumBeaconError(string Code, string? Member, string Detail);
