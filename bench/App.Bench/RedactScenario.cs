using System.Diagnostics;
using System.Globalization;
using App.Application.Privacy;

namespace App.Bench;

/// <summary>
/// What the redactor costs per text, in time and in bytes allocated, on three kinds of text: a prompt with digits
/// and nothing to redact (what every bench request sends), an ordinary exchange with figures in it, and one with an
/// e-mail address and a phone number. The trace writer redacts a call's prompt and its answer.
/// </summary>
internal static class RedactScenario
{
    private static readonly (string Label, string Text)[] Texts =
    [
        ("digits, nothing to redact", "user: benchmark request 123456\n"),
        ("an ordinary exchange", "user: What were the Q3 2024 revenues for product 7, and how do they compare with 2023?\nassistant: Revenue rose 12% to 4.1 million.\n"),
        ("an e-mail and a phone number", "user: write to jane.doe@example.com or call +44 20 7946 0958\n"),
    ];

    public static Task<int> RunAsync()
    {
        const int calls = 200_000;
        Console.WriteLine("| text | µs per call | bytes allocated per call |");
        Console.WriteLine("| --- | --- | --- |");
        foreach (var (label, text) in Texts)
        {
            // A second of warm-up first, so the figure is for tier-1 code, not the JIT's first attempt.
            var warm = Stopwatch.StartNew();
            while (warm.ElapsedMilliseconds < 1_000)
            {
                _ = Redactor.Redact(text);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++)
            {
                _ = Redactor.Redact(text);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} | {elapsed.TotalMicroseconds / calls:0.00} | {allocated / calls} |"));
        }

        return Task.FromResult(0);
    }
}
