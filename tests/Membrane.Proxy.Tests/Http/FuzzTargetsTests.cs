using Membrane.Fuzz;

namespace Membrane.Proxy.Tests.Http;

/// <summary>
/// The bounded fuzz run of the test suite: every fuzz target (including ones other layers add) replays its saved
/// corpus, if it has one, and survives a seeded mutation run. Coverage-guided runs: scripts/fuzz.sh afl TARGET SECONDS.
/// </summary>
public sealed class FuzzTargetsTests
{
    private static string CorpusRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "tests", "Membrane.Fuzz", "corpus")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.Combine(dir ?? throw new DirectoryNotFoundException("tests/Membrane.Fuzz/corpus not found above the test binaries"), "tests", "Membrane.Fuzz", "corpus");
    }

    public static TheoryData<string> TargetNames() => [.. Membrane.Fuzz.Program.Targets().Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void SavedCorpusReplaysAndMutationsDoNotFail(string name)
    {
        var target = Membrane.Fuzz.Program.Targets()[name];
        var corpus = Path.Combine(CorpusRoot(), name);
        if (Directory.Exists(corpus))
        {
            foreach (var file in Directory.EnumerateFiles(corpus))
            {
                target.Run(File.ReadAllBytes(file));
            }
        }

        Assert.Null(Smoke.Run(target, iterations: 20_000, seed: 1, corpus));
    }
}
