namespace Membrane.Datapath.Programs;

/// <summary>The compiled BPF objects (built from bpf/*.bpf.c by the Membrane.Datapath build into bpf/ beside the assembly).</summary>
internal static class ObjectFiles
{
    public const string FromContainer = "from_container.bpf.o";
    public const string ToContainer = "to_container.bpf.o";

    /// <summary>The directory holding the objects: <paramref name="configured"/>, else bpf/ next to this assembly.</summary>
    public static string Directory(string? configured)
    {
        var directory = configured ?? Path.Combine(AppContext.BaseDirectory, "bpf");
        foreach (var file in (ReadOnlySpan<string>)[FromContainer, ToContainer])
        {
            if (!File.Exists(Path.Combine(directory, file)))
            {
                throw new DatapathException($"BPF object {Path.Combine(directory, file)} not found: build Membrane.Datapath (dotnet build), which compiles bpf/*.bpf.c with clang-14");
            }
        }

        return directory;
    }
}
