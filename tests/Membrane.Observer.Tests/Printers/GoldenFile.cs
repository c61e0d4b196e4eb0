using System.Runtime.CompilerServices;

namespace Membrane.Observer.Tests.Printers;

/// <summary>
/// Compares output with a checked-in file under <c>Printers/Golden/</c>. Set <c>MEMBRANE_UPDATE_GOLDEN=1</c> to rewrite
/// the files after an intended format change (then review the diff).
/// </summary>
internal static class GoldenFile
{
    public static void AssertMatches(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(callerPath)!, "Golden", name);
        if (Environment.GetEnvironmentVariable("MEMBRANE_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"golden file {path} is missing (run with MEMBRANE_UPDATE_GOLDEN=1 to create it)");
        var expected = File.ReadAllText(path);
        if (expected != actual)
        {
            var expectedLines = expected.Split('\n');
            var actualLines = actual.Split('\n');
            for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
            {
                var e = i < expectedLines.Length ? expectedLines[i] : "<missing>";
                var a = i < actualLines.Length ? actualLines[i] : "<missing>";
                Assert.True(e == a, $"{name} line {i + 1} differs\nexpected: {e}\nactual:   {a}");
            }
        }
    }
}
