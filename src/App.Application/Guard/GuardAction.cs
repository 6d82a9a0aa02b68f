namespace App.Application.Guard;

/// <summary>What a route does with a suspected input.</summary>
public enum GuardAction
{
    Off,
    Flag,
    Block,
}
