namespace Membrane.Fuzz;

/// <summary>Lists the fuzz targets; the fuzzing driver itself comes with the proxy work (scripts/fuzz.sh).</summary>
public static class Program
{
    /// <summary>Entry point: <c>Membrane.Fuzz list</c>.</summary>
    public static int Main(string[] args)
    {
        var targets = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IFuzzTarget).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IFuzzTarget)Activator.CreateInstance(t)!)
            .ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (args.Length == 0 || args[0] == "list")
        {
            foreach (var name in targets.Keys.Order(StringComparer.Ordinal))
            {
                Console.WriteLine(name);
            }

            return 0;
        }

        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
    }
}
