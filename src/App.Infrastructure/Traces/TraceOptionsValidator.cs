using App.Application.Traces;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>Checks the trace writer's <see cref="TraceOptions"/> at start-up, naming the key of every value out of range.</summary>
internal sealed class TraceOptionsValidator : IValidateOptions<TraceOptions>
{
    public ValidateOptionsResult Validate(string? name, TraceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.QueueCapacity is < 1 or > 10_000_000 || options.BatchSize < 1 || options.MaxContentChars < 0)
        {
            errors.Add("Traces:QueueCapacity must be between 1 and 10000000, BatchSize positive, MaxContentChars not negative.");
        }

        if (options.FlushInterval < TimeSpan.FromMilliseconds(10))
        {
            errors.Add("Traces:FlushInterval must be at least 10 ms.");
        }

        if (options.AdmissionWait < TimeSpan.Zero || options.AdmissionWait > TimeSpan.FromSeconds(30))
        {
            errors.Add("Traces:AdmissionWait must be between 0 and 30 seconds.");
        }

        if (options.Retention < TimeSpan.FromDays(1))
        {
            errors.Add("Traces:Retention must be at least 1.00:00:00 (or empty, to keep traces for ever).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
