namespace Membrane.Policy.Tests;

/// <summary>Locates files of the repository (examples, the test corpus) from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

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
