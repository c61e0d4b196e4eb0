using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

/// <summary>
/// Random edits of every corpus and example file (seeded, so a failure reproduces): the loader always returns a
/// result and never throws; every error has a location inside the text.
/// </summary>
public sealed class MutationRobustnessTests
{
    // MEMBRANE_POLICY_MUTATIONS raises the count for a longer run.
    private static readonly int MutationsPerFile =
        int.TryParse(Environment.GetEnvironmentVariable("MEMBRANE_POLICY_MUTATIONS"), out var n) && n > 0 ? n : 60;

    private static readonly string[] Fragments = ["{", "}", "[", "]", ":", "- ", "\n", "  ", "*a", "&a ", "<<: ", "'", "\"", "#", "null", "~", "\t", "0x1", "-1", "99999999999"];

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        var roots = new[] { RepoPaths.Of("examples"), RepoPaths.Of("tests", "Membrane.Policy.Tests", "Corpus") };
        foreach (var file in roots.SelectMany(r => Directory.EnumerateFiles(r, "*.*", SearchOption.AllDirectories))
                     .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.Root, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void RandomEditsNeverThrow(string relativePath)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath));
        var random = new Random(relativePath.Length * 7919 + text.Length);
        for (var i = 0; i < MutationsPerFile; i++)
        {
            var mutated = Mutate(text, random);
            var result = PolicyLoader.LoadText(mutated, "m.yaml");
            var lines = mutated.Count(c => c == '\n') + 2;
            Assert.All(result.Errors, e => Assert.InRange(e.Location.Line, 1, lines));
            Assert.Equal(result.Errors.Count == 0, result.IsValid);
        }
    }

    private static string Mutate(string text, Random random)
    {
        var chars = text.ToList();
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && chars.Count > 0; e++)
        {
            var at = random.Next(chars.Count);
            switch (random.Next(3))
            {
                case 0:
                    chars.RemoveRange(at, Math.Min(random.Next(1, 8), chars.Count - at));
                    break;
                case 1:
                    chars.InsertRange(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                default:
                    chars[at] = (char)random.Next(32, 127);
                    break;
            }
        }

        return new string([.. chars]);
    }
}
