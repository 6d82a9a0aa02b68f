namespace App.Application.Routing;

public static class ProviderKinds
{
    public const string Offline = "offline";
    public const string OpenAi = "openai";
}
