using System.Text.Json;

namespace Membrane.DatapathHarness;

/// <summary>
/// Rounds of kernel-measured per-packet durations (BPF_PROG_TEST_RUN reports the mean of its repetitions), every case
/// once per round in a rotated order, and the summary the bench docs quote: median [min–max] of the duration, and of
/// the per-round difference to the empty program measured in the same round.
/// </summary>
internal sealed class Measurement(string suite, string baseline)
{
    private readonly List<(int Round, string Case, string Group, double Ns)> _samples = [];

    private readonly List<string> _load = [];

    public void Run(int rounds, IReadOnlyList<(string Case, string Group, Func<double> Measure)> cases)
    {
        _load.Add(LoadAverage());
        for (var round = 1; round <= rounds; round++)
        {
            for (var i = 0; i < cases.Count; i++)
            {
                var (name, group, measure) = cases[(i + round) % cases.Count];
                _samples.Add((round, name, group, measure()));
            }

            _load.Add(LoadAverage());
            Console.Error.WriteLine($"[{suite}] round {round}/{rounds} done, load average {_load[^1]}");
        }
    }

    public void Report(string? jsonlPath)
    {
        // The machine is shared: the 1-minute load average before the first and after every round says how busy it was.
        Console.WriteLine($"{suite}: {_samples.Select(s => s.Round).Distinct().Count()} rounds; 1-minute load average before and after each round: {string.Join(", ", _load)} (2 CPUs)");
        Console.WriteLine();
        Console.WriteLine($"| {suite} | group | ns/packet median [min–max] | minus {baseline}, same round: median [min–max] | n |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var key in _samples.Select(s => (s.Case, s.Group)).Distinct())
        {
            var mine = _samples.Where(s => s.Case == key.Case && s.Group == key.Group).ToList();
            var deltas = mine.Select(s => s.Ns - _samples.Single(b => b.Round == s.Round && b.Case == baseline && b.Group == s.Group).Ns).ToList();
            Console.WriteLine($"| {key.Case} | {key.Group} | {Summary(mine.Select(s => s.Ns))} | {(key.Case == baseline ? "–" : Summary(deltas))} | {mine.Count} |");
        }

        // Cases measured for two builds ("name" and "name [commit]", see prog-cost --baseline-commit): the ratio of
        // their differences to the empty program, taken within each round.
        var pairs = _samples.Select(s => (s.Case, s.Group)).Distinct()
            .Select(k => (k.Case, k.Group, Other: _samples.FirstOrDefault(o => o.Group == k.Group && o.Case.StartsWith(k.Case + " [", StringComparison.Ordinal)).Case))
            .Where(p => p.Other is not null).ToList();
        if (pairs.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"| {suite}: this build / other build, net of {baseline}, same round | group | ratio median [min–max] | n |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var (name, group, other) in pairs)
            {
                var ratios = _samples.Where(s => s.Case == name && s.Group == group).Select(s =>
                {
                    var empty = _samples.Single(b => b.Round == s.Round && b.Case == baseline && b.Group == group).Ns;
                    var them = _samples.Single(o => o.Round == s.Round && o.Case == other && o.Group == group).Ns;
                    return (s.Ns - empty) / (them - empty);
                }).Order().ToList();
                var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[(ratios.Count / 2) - 1] + ratios[ratios.Count / 2]) / 2;
                Console.WriteLine($"| {name} vs {other[(name.Length + 1)..]} | {group} | {median:0.00} [{ratios[0]:0.00}–{ratios[^1]:0.00}] | {ratios.Count} |");
            }
        }

        if (jsonlPath is not null)
        {
            using var output = File.AppendText(jsonlPath);
            foreach (var s in _samples)
            {
                output.WriteLine(JsonSerializer.Serialize(new { suite, round = s.Round, target = s.Case, group = s.Group, ns_per_packet = s.Ns }));
            }
        }
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static string Summary(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return $"{median:0} [{sorted[0]:0}–{sorted[^1]:0}]";
    }
}
