namespace Membrane.Fuzz;

/// <summary>
/// The fuzzing driver (scripts/fuzz.sh calls it): <c>list</c>; <c>run TARGET</c> (AFL++ through SharpFuzz, reading
/// inputs from AFL); <c>replay TARGET PATH...</c> (every file of the given files or folders, e.g. the saved corpus
/// or AFL's crashes); <c>smoke TARGET ITERATIONS SEED CORPUS</c> (a bounded, seeded mutation loop without AFL).
/// </summary>
public static class Program
{
    /// <summary>Every <see cref="IFuzzTarget"/> in this assembly, by name.</summary>
    public static IReadOnlyDictionary<string, IFuzzTarget> Targets() => typeof(Program).Assembly.GetTypes()
        .Where(t => typeof(IFuzzTarget).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IFuzzTarget)Activator.CreateInstance(t)!)
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "run")
        {
            // AFL mode: no target is constructed before SharpFuzz has set up its coverage map (constructors may run
            // instrumented code), so the target is created on the first input.
            var name = args[1];
            IFuzzTarget? chosen = null;
            SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
            {
                chosen ??= Targets().TryGetValue(name, out var t) ? t : throw new ArgumentException($"unknown fuzz target {name}");
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                chosen.Run(copy.ToArray());
            });
            return 0;
        }

        var targets = Targets();
        if (args.Length == 0 || args[0] == "list")
        {
            foreach (var name in targets.Keys.Order(StringComparer.Ordinal))
            {
                Console.WriteLine(name);
            }

            return 0;
        }

        if (args.Length < 2 || !targets.TryGetValue(args[1], out var target))
        {
            Console.Error.WriteLine($"usage: Membrane.Fuzz list | run TARGET | replay TARGET PATH... | smoke TARGET ITERATIONS SEED CORPUS; targets: {string.Join(", ", targets.Keys)}");
            return 2;
        }

        switch (args[0])
        {
            case "replay":
                var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p])
                    .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith("README.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
                foreach (var f in files)
                {
                    try
                    {
                        target.Run(File.ReadAllBytes(f));
                    }
                    catch (Exception e)
                    {
                        Console.Error.WriteLine($"{target.Name}: {f}: {e}");
                        return 1;
                    }
                }

                Console.WriteLine($"{target.Name}: replayed {files.Count} inputs, no failure");
                return 0;
            case "smoke" when args.Length >= 5:
                var failure = Smoke.Run(target, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), args[4]);
                if (failure is not null)
                {
                    Console.Error.WriteLine(failure);
                    return 1;
                }

                Console.WriteLine($"{target.Name}: {args[2]} mutated inputs, no failure");
                return 0;
            default:
                Console.Error.WriteLine($"unknown command {args[0]}");
                return 2;
        }
    }
}
