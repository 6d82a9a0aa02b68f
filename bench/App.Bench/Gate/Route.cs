namespace App.Bench.Gate;

/// <summary>A route the load gate drives: POST sends a chat request, GET no body.</summary>
internal sealed record Route(string Method, string Path);
