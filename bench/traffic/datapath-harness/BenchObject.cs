using Membrane.Datapath;
using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>Benchmark-only BPF objects (<c>bpf/*.bpf.c</c> next to this file), compiled at run time against the
/// production headers and loaded on an instance's pinned maps.</summary>
internal static class BenchObject
{
    /// <summary>Compiles <c>bpf/<paramref name="name"/>.bpf.c</c> into a temporary object file and returns its path.</summary>
    public static string Compile(string name) =>
        CompileFile(Path.Combine(RepositoryRoot(), "bench", "traffic", "datapath-harness", "bpf", $"{name}.bpf.c"));

    /// <summary>Compiles a BPF C file with the production programs' flags and include paths.</summary>
    public static string CompileFile(string source)
    {
        var root = RepositoryRoot();
        var output = Path.Combine(Path.GetTempPath(), $"membrane-{Path.GetFileNameWithoutExtension(source)}-{Environment.ProcessId}.o");
        using var clang = System.Diagnostics.Process.Start("clang-14", ["-O2", "-g", "-target", "bpf", "-Wall", "-Werror", "-Wno-unused-parameter",
            "-I/usr/include/x86_64-linux-gnu", $"-I{Path.Combine(root, "bpf", "include")}", $"-I{Path.Combine(root, "bpf")}", "-c", source, "-o", output])!;
        clang.WaitForExit();
        return clang.ExitCode == 0 ? output : throw new InvalidOperationException($"clang-14 failed on {source}");
    }

    /// <summary>
    /// Compiles the production programs as they were at <paramref name="commit"/> (git archive of its bpf/) into a new
    /// temporary directory, which <see cref="DatapathOptions.ObjectDirectory"/> can load next to the current build.
    /// </summary>
    public static string CompileCommit(string commit)
    {
        var root = RepositoryRoot();
        var directory = Directory.CreateTempSubdirectory($"membrane-bpf-{commit}-").FullName;
        Run("sh", ["-c", $"git -C '{root}' archive '{commit}' bpf | tar -x -C '{directory}'"], $"git archive {commit} bpf");
        foreach (var program in (string[])["from_container", "to_container"])
        {
            Run("clang-14", ["-O2", "-g", "-target", "bpf", "-Wall", "-Wno-unused-parameter", "-I/usr/include/x86_64-linux-gnu",
                $"-I{Path.Combine(directory, "bpf", "include")}", $"-I{Path.Combine(directory, "bpf")}", "-c",
                Path.Combine(directory, "bpf", $"{program}.bpf.c"), "-o", Path.Combine(directory, $"{program}.bpf.o")], $"clang-14 on {commit}:bpf/{program}.bpf.c");
        }

        return directory;
    }

    /// <summary>Loads <paramref name="objectFile"/> on the maps pinned under <paramref name="datapath"/>'s root (sized as
    /// <see cref="TestNode.OpenInstance"/> sizes them; <paramref name="productionMaps"/> false: the object defines none).</summary>
    public static BpfObjectHandle Load(string objectFile, EbpfDatapath datapath, bool productionMaps = true)
    {
        var obj = Libbpf.OpenObject(objectFile, datapath.PinRoot);
        try
        {
            if (productionMaps)
            {
                Libbpf.SetMaxEntries(obj, "conntrack", TestNode.ConntrackCapacity);
                Libbpf.SetMaxEntries(obj, "events", 1 << 20);
            }

            Libbpf.LoadObject(obj, Path.GetFileName(objectFile));
            return obj;
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    private static void Run(string command, string[] arguments, string what)
    {
        using var process = System.Diagnostics.Process.Start(command, arguments)!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed (exit code {process.ExitCode})");
        }
    }

    private static string RepositoryRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Membrane.slnx")))
        {
            root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("run from inside the repository");
        }

        return root;
    }
}
