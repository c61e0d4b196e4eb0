namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Paths in the source tree and the build output.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string SharedHeader => Path.Combine(Root, "bpf", "include", "membrane", "shared.h");

    public static string DatapathSources => Path.Combine(Root, "src", "Membrane.Datapath");

    public static string Object(string name) => Path.Combine(AppContext.BaseDirectory, "bpf", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Membrane.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Membrane.slnx above {AppContext.BaseDirectory}");
    }
}
