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

    /// <summary>Loads <paramref name="objectFile"/> on the maps pinned under <paramref name="datapath"/>'s root (sized as
    /// <see cref="TestNode.OpenInstance"/> sizes them).</summary>
    public static BpfObjectHandle Load(string objectFile, EbpfDatapath datapath)
    {
        var obj = Libbpf.OpenObject(objectFile, datapath.PinRoot);
        try
        {
            Libbpf.SetMaxEntries(obj, "conntrack", TestNode.ConntrackCapacity);
            Libbpf.SetMaxEntries(obj, "events", 1 << 20);
            Libbpf.LoadObject(obj, Path.GetFileName(objectFile));
            return obj;
        }
        catch
        {
            obj.Dispose();
            throw;
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
