using System.Security.Cryptography;
using Membrane.Agent.Lab;
using Membrane.Agent.Tests.Support;
using Membrane.Tests.Shared;

namespace Membrane.Agent.Tests.Lab;

/// <summary>
/// The lab end to end with the real <c>membrane</c> binary (root; namespaces, BPF, processes): a second <c>up</c> is
/// safe, <c>down</c> removes everything, and a failed or interrupted <c>up</c> leaves nothing behind.
/// </summary>
public sealed class LabControllerTests
{
    private sealed class Progress(Action<string>? onStep = null) : ILabProgress
    {
        public List<string> Steps { get; } = [];

        public void Step(string message)
        {
            Steps.Add(message);
            onStep?.Invoke(message);
        }
    }

    private static string MembraneExecutable()
    {
        var configuration = AppContext.BaseDirectory.Contains("/debug/", StringComparison.Ordinal) ? "debug" : "release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "artifacts", "bin", "Membrane.Cli", configuration, "membrane");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("the membrane executable is not built (dotnet build Membrane.slnx)");
    }

    private static LabTopology Topology(string name) => LabTopologyParser.Parse(
        $$"""
        name: {{name}}
        podCIDR: 10.244.9.0/24
        namespaces:
          - name: default
            pods:
              - name: web
                labels: {app: web}
                aliases: [web-service]
                server: http
              - name: client
                labels: {app: client}
        """, "test-topology.yaml");

    private static string RandomName() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))[..5];

    private static IReadOnlyList<string> Namespaces(string prefix) =>
        [.. File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip") || File.Exists("/usr/bin/ip")
            ? Processes.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(prefix + "-", StringComparison.Ordinal))
            : throw new InvalidOperationException("iproute2 is missing")];

    private static void AssertNothingLeft(string name)
    {
        var prefix = LabController.PrefixFor(name);
        Assert.Empty(Namespaces(prefix));
        Assert.False(Directory.Exists(LabPaths.Directory(name)), "the lab's state directory is left");
        Assert.False(Directory.Exists($"/sys/fs/bpf/membrane/v1/{name}"), "the agent's pins are left");
        Assert.Empty(Directory.Exists("/etc/netns") ? Directory.GetDirectories("/etc/netns", prefix + "-*") : []);
    }

    [Fact]
    public async Task UpTwiceIsSafeTrafficFlowsAndDownRemovesEverything()
    {
        var name = RandomName();
        var progress = new Progress();
        var controller = new LabController(MembraneExecutable(), progress);
        var file = Path.Combine(Path.GetTempPath(), $"{name}.yaml");
        try
        {
            var topology = Topology(name);
            var first = await controller.UpAsync(topology, file, CancellationToken.None);
            Assert.True(LabController.IsHealthy(first));
            Assert.All(first.Pods, p => Assert.True(p.EndpointId > 0));
            Assert.Equal(2, Namespaces(first.Prefix).Count(n => n != first.NodeNamespace));

            // Pods resolve each other (and aliases) by name, and traffic crosses the datapath (no policy: allowed).
            var web = first.FindPod("web-service")!;
            var client = first.FindPod("client")!;
            var curl = await Processes.RunAsync("ip", ["netns", "exec", client.NetworkNamespace, "curl", "-s", "-m", "5", "http://web-service/api/v1/users/7"], TimeSpan.FromSeconds(20));
            Assert.Equal(0, curl.ExitCode);
            Assert.Contains("\"id\":\"7\"", curl.Stdout, StringComparison.Ordinal);
            Assert.Contains(client.Address, curl.Stdout, StringComparison.Ordinal);
            Assert.Equal("web", web.Name);

            var second = await controller.UpAsync(topology, file, CancellationToken.None);
            Assert.Equal(first.AgentPid, second.AgentPid);
            Assert.Contains(progress.Steps, s => s.Contains("already up", StringComparison.Ordinal));

            Assert.True(controller.Down(name));
            Assert.False(LabController.IsProcessRunning(name, first.AgentPid));
            Assert.False(LabController.IsProcessRunning(name, web.WorkloadPid));
            AssertNothingLeft(name);
            Assert.False(controller.Down(name));
        }
        finally
        {
            controller.Down(name);
        }
    }

    [Fact]
    public async Task FailedUpRemovesWhatItCreated()
    {
        var name = RandomName();
        // An "agent" that exits at once: up fails after creating the namespaces and must remove them.
        var controller = new LabController("/bin/false", new Progress());
        try
        {
            var e = await Assert.ThrowsAsync<LabException>(() => controller.UpAsync(Topology(name), "t.yaml", CancellationToken.None));
            Assert.Contains("the agent exited during start-up", e.Message, StringComparison.Ordinal);
            AssertNothingLeft(name);
        }
        finally
        {
            controller.Down(name);
        }
    }

    [Fact]
    public async Task InterruptedUpRemovesWhatItCreated()
    {
        var name = RandomName();
        using var cts = new CancellationTokenSource();
        // Ctrl-C arrives while the second pod is being created.
        var controller = new LabController(MembraneExecutable(), new Progress(step =>
        {
            if (step.Contains("default/client", StringComparison.Ordinal))
            {
                cts.Cancel();
            }
        }));
        try
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => controller.UpAsync(Topology(name), "t.yaml", cts.Token));
            AssertNothingLeft(name);
        }
        finally
        {
            controller.Down(name);
        }
    }
}
