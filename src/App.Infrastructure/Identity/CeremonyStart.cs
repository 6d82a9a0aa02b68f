namespace App.Infrastructure.Identity;

public sealed record CeremonyStart(string CeremonyId, string OptionsJson);
