namespace Membrane.DatapathHarness;

/// <summary>"command --name value ..." arguments.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _options;

    private Arguments(string command, Dictionary<string, string> options)
    {
        Command = command;
        _options = options;
    }

    public string Command { get; }

    public static Arguments Parse(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return new Arguments(args.Length > 0 ? args[0] : "", options);
    }

    public string? Get(string name) => _options.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback, int max)
    {
        var value = Get(name) is { } text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : fallback;
        return value >= 0 && value <= max ? value : throw new ArgumentException($"--{name} must be within 0..{max} (bounded runs only)");
    }

    public int[] Ints(string name, string fallback) =>
        (Get(name) ?? fallback).Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
