using System.Text.RegularExpressions;
using Membrane.Datapath.KernelTests.Support;

namespace Membrane.Datapath.KernelTests.Interop;

/// <summary>Only src/Membrane.Datapath/Interop/ may hold unsafe code or touch native memory and native calls.</summary>
public sealed partial class UnsafeCodeTests
{
    [Fact]
    public void No_unsafe_code_outside_the_interop_folder()
    {
        var interop = Path.Combine(Repository.DatapathSources, "Interop") + Path.DirectorySeparatorChar;
        var files = Directory.GetFiles(Repository.DatapathSources, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(interop, StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.True(files.Count > 20, $"only {files.Count} files found under {Repository.DatapathSources}");
        var offences = new List<string>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = StripComment(lines[i]);
                if (Forbidden().Match(code) is { Success: true } match)
                {
                    offences.Add($"{Path.GetRelativePath(Repository.Root, file)}:{i + 1}: {match.Value}");
                }
            }
        }

        Assert.Empty(offences);
        Assert.Contains("unsafe", File.ReadAllText(Path.Combine(interop, "BpfMap.cs")), StringComparison.Ordinal);
    }

    private static string StripComment(string line)
    {
        var index = line.IndexOf("//", StringComparison.Ordinal);
        return index < 0 ? line : line[..index];
    }

    [GeneratedRegex(@"\bunsafe\b|\bUnsafe\.|\bMarshal\.|MemoryMarshal|NativeMemory|LibraryImport|DllImport|\bfixed\s*\(|delegate\s*\*|\bvoid\s*\*|\w\*\s+\w+\s*[=;,)]")]
    private static partial Regex Forbidden();
}
