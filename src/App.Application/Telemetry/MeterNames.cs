namespace App.Application.Telemetry;

/// <summary>
/// The meters the service creates, in one place, so that the metrics pipeline listens to each of them
/// (docs/operations.md lists their instruments).
/// </summary>
public static class MeterNames
{
    /// <summary>Model calls, gateway overhead, cache, traffic control, usage, budgets and jobs.</summary>
    public const string Gateway = GatewayTelemetry.SourceName;

    /// <summary>The trace writer: written, dropped, rejected, queued.</summary>
    public const string Traces = "App.Traces";

    /// <summary>Requests answered 503 because PostgreSQL did not answer.</summary>
    public const string Database = "App.Database";

    /// <summary>What the page at <c>/</c> measured in the user's browser.</summary>
    public const string Rum = "App.Rum";

    public static readonly string[] All = [Gateway, Traces, Database, Rum];
}
