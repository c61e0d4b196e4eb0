using Membrane.Tests.Shared;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Runs real programs (curl, ip, bpftool, clang) with a time bound.</summary>
internal static class Commands
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> Run(string file, IReadOnlyList<string> args, TimeSpan timeout) =>
        Processes.RunAsync(file, args, timeout);

    /// <summary>Runs a command inside a pod (workloads may use ip netns exec: they need no bpffs).</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> InPod(Pod pod, TimeSpan timeout, params string[] command) =>
        Run("ip", ["netns", "exec", pod.Namespace.Name, .. command], timeout);
}
