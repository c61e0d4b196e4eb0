using System.Text.RegularExpressions;

namespace Membrane.Cli.Tests.Support;

/// <summary>
/// Golden output files (<c>tests/Membrane.Cli.Tests/Golden/*.txt</c>): the exact text a user sees, with what changes from
/// run to run replaced by placeholders of the same width so that column alignment is still checked. Run with
/// <c>MEMBRANE_UPDATE_GOLDEN=1</c> to rewrite them, then review the diff.
/// </summary>
internal static partial class Golden
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Directory { get; } = Path.Combine(RepositoryRoot, "tests", "Membrane.Cli.Tests", "Golden");

    public static void AssertMatches(string name, string actual)
    {
        var path = Path.Combine(Directory, name);
        if (Environment.GetEnvironmentVariable("MEMBRANE_UPDATE_GOLDEN") == "1")
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"golden file {path} is missing (run with MEMBRANE_UPDATE_GOLDEN=1 to create it); output:\n{actual}");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    /// <summary>
    /// Replaces timestamps (StampMilli), ephemeral ports (32768+) and ifindexes by same-width placeholders, flow hashes
    /// (they hash the ephemeral port) by <c>flow 0xHASH</c>, and HTTP
    /// latencies (last column, no alignment after them) by <c>LATENCY</c>.
    /// </summary>
    public static string Normalize(string text)
    {
        text = StampMilli().Replace(text, "MMM DD hh:mm:ss.mmm");
        text = EphemeralPort().Replace(text, m =>
            int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 32768 ? ":" + new string('P', m.Groups[1].Length) : m.Value);
        text = Ifindex().Replace(text, m => "ifindex " + new string('N', m.Groups[1].Length));
        text = FlowHashText().Replace(text, "flow 0xHASH");
        return Latency().Replace(text, " LATENCY (");
    }

    [GeneratedRegex(@"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{3}")]
    private static partial Regex StampMilli();

    [GeneratedRegex(@":(\d{5})\b")]
    private static partial Regex EphemeralPort();

    [GeneratedRegex(@"ifindex (\d+)")]
    private static partial Regex Ifindex();

    [GeneratedRegex(@"flow 0x[0-9a-f]+")]
    private static partial Regex FlowHashText();

    [GeneratedRegex(@" \d+(\.\d+)?(ns|µs|us|ms|s) \(")]
    private static partial Regex Latency();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Membrane.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Membrane.slnx not found above " + AppContext.BaseDirectory);
    }
}
