namespace App.Application.Routing;

public static class ModelAlias
{
    public static bool IsValid(string alias) =>
        alias.Length is > 0 and <= 64 && alias.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/');
}
