using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using App.Testing;

namespace App.IntegrationTests;

/// <summary>Model calls are visible as GenAI-convention spans and metrics.</summary>
public sealed class TelemetryTests : GatewayTest, IDisposable
{
    private readonly string _alias = "tel-" + Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentBag<(string Name, long Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly ConcurrentBag<Activity> _spans = [];
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _activities;

    public TelemetryTests()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "App.Gateway")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            var dict = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                dict[tag.Key] = tag.Value;
            }

            _measurements.Add((instrument.Name, value, dict));
        });
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var dict = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                dict[tag.Key] = tag.Value;
            }

            _measurements.Add((instrument.Name, value, dict));
        });
        _meters.Start();
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "App.Gateway",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => _spans.Add(a),
        };
        ActivitySource.AddActivityListener(_activities);
    }

    protected override Settings Configure(Settings settings) => settings.Route(_alias, Deployment.Offline());

    [Fact]
    public async Task AChatCallRecordsTokenUsageAndASpanWithGenAiAttributes()
    {
        using var response = await PostAsync(Chat("count my tokens", model: _alias, temperature: 0));
        var body = await ReadAsync(response);
        var usage = body.GetProperty("usage");

        var mine = _measurements.Where(m => m.Name == "gen_ai.client.token.usage" && Equals(m.Tags.GetValueOrDefault("gen_ai.request.model"), _alias)).ToList();
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64(), mine.Single(m => Equals(m.Tags["gen_ai.token.type"], "input")).Value);
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), mine.Single(m => Equals(m.Tags["gen_ai.token.type"], "output")).Value);
        Assert.All(mine, m => Assert.Equal("offline", m.Tags["gen_ai.provider.name"]));

        var span = _spans.Single(s => s.DisplayName == $"chat {_alias}");
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("offline-1", span.GetTagItem("gen_ai.response.model"));
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("miss", span.GetTagItem("app.cache.result"));
        Assert.Equal(0, span.GetTagItem("app.retries"));
    }

    [Fact]
    public async Task CircuitStateIsPublishedAsAGaugePerDeployment()
    {
        using var response = await PostAsync(Chat("warm up", model: _alias));
        _meters.RecordObservableInstruments();
        var state = _measurements.Where(m => m.Name == "app.gateway.circuit.state" && Equals(m.Tags.GetValueOrDefault("app.deployment"), $"{_alias}/0")).ToList();
        Assert.NotEmpty(state);
        Assert.All(state, m => Assert.Equal(0, m.Value)); // closed
    }

    public void Dispose()
    {
        _meters.Dispose();
        _activities.Dispose();
    }
}
