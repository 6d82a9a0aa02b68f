namespace App.Application.Traces;

/// <summary>How much of a call's content a trace keeps.</summary>
public enum ContentCapture
{
    Off,
    Redacted,
    Full,
}
