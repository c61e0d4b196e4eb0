using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Validation;

/// <summary>
/// Every file under <c>Corpus/Invalid/</c> declares the exact errors it must produce, as
/// <c># expect: LINE:COLUMN: field.path: message</c> header lines (JSON files use a <c>.expect</c> sidecar).
/// </summary>
public sealed class InvalidCorpusTests
{
    private static readonly string CorpusDirectory = RepoPaths.Of("tests", "Membrane.Policy.Tests", "Corpus", "Invalid");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(CorpusDirectory).Where(f => !f.EndsWith(".expect", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void CorpusHasAtLeastFortyInvalidPolicies() => Assert.True(Files().Count >= 40, $"only {Files().Count} files");

    [Theory]
    [MemberData(nameof(Files))]
    public void FileProducesExactlyTheDeclaredErrors(string name)
    {
        var path = Path.Combine(CorpusDirectory, name);
        var text = File.ReadAllText(path);
        var expected = ExpectedErrors(path, text);
        Assert.NotEmpty(expected);

        var result = PolicyLoader.LoadText(text, name);

        Assert.False(result.IsValid);
        var actual = result.Errors.Select(e => $"{e.Location.Line}:{e.Location.Column}: {(e.FieldPath.Length == 0 ? "" : e.FieldPath + ": ")}{e.Message}");
        Assert.Equal(expected, actual);
        Assert.All(result.Errors, e => Assert.Equal(name, e.Location.File));
    }

    private static List<string> ExpectedErrors(string path, string text)
    {
        if (File.Exists(path + ".expect"))
        {
            return [.. File.ReadAllLines(path + ".expect").Where(l => l.Length > 0)];
        }

        const string Prefix = "# expect: ";
        return [.. text.Split('\n').Where(l => l.StartsWith(Prefix, StringComparison.Ordinal)).Select(l => l[Prefix.Length..])];
    }
}
