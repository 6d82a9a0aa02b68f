using Microsoft.Extensions.Options;

namespace App.Application.Jobs;

/// <summary>Checks <see cref="JobOptions"/> at start-up, naming the key of every value out of range.</summary>
public sealed class JobOptionsValidator : IValidateOptions<JobOptions>
{
    public ValidateOptionsResult Validate(string? name, JobOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Concurrency is < 1 or > 256)
        {
            errors.Add("Jobs:Concurrency must be between 1 and 256.");
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            errors.Add("Jobs:MaxAttempts must be between 1 and 100.");
        }

        if (options.MaxBatchSize is < 1 or > 10_000)
        {
            errors.Add("Jobs:MaxBatchSize must be between 1 and 10000.");
        }

        if (options.VisibilityTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add("Jobs:VisibilityTimeout must be at least 00:00:01.");
        }

        if (options.StaleAfter < options.VisibilityTimeout)
        {
            errors.Add("Jobs:StaleAfter must be at least Jobs:VisibilityTimeout.");
        }

        if (options.RetryBaseDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryBaseDelay)
        {
            errors.Add("Jobs:RetryBaseDelay must be positive and at most Jobs:RetryMaxDelay.");
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(10) || options.EventsInterval < TimeSpan.FromMilliseconds(10))
        {
            errors.Add("Jobs:PollInterval and Jobs:EventsInterval must be at least 10 ms.");
        }

        if (options.IdlePollInterval < options.PollInterval || options.IdlePollInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add("Jobs:IdlePollInterval must be between Jobs:PollInterval and 1 minute.");
        }

        if (string.IsNullOrWhiteSpace(options.StreamKey))
        {
            errors.Add("Jobs:StreamKey is required.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
