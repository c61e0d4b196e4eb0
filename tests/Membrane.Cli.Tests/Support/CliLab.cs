using System.Globalization;
using System.Net;
using Membrane.Agent.Api;
using Membrane.Agent.Hosting;
using Membrane.Datapath;
using Membrane.Datapath.Netns;
using Xunit.Abstractions;

namespace Membrane.Cli.Tests.Support;

/// <summary>
/// What a user does, in a node namespace of its own: <c>membrane agent</c> started inside it with <c>nsenter</c> (as
/// the lab starts it), pods created with the netns primitives (10.244.1.11, .12, ...), endpoints created with
/// <c>membrane endpoint create</c>, <c>membrane workload http</c> servers in pods, and <c>membrane</c> verbs run as
/// processes against the instance. Dispose stops every process by PID and removes the namespaces, pins and state.
/// </summary>
internal sealed class CliLab : IAsyncDisposable
{
    private static readonly Dictionary<string, string> AgentEnvironment = new() { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1" };

    private readonly ITestOutputHelper _output;
    private readonly List<RunningProcess> _workloads = [];
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("membrane-cli-test-").FullName;
    private RunningProcess? _agent;

    private CliLab(NodeNamespace node, string prefix, ITestOutputHelper output)
    {
        Node = node;
        Instance = prefix;
        _output = output;
    }

    public NodeNamespace Node { get; }

    public string Instance { get; }

    public Dictionary<string, PodNamespace> Pods { get; } = [];

    public static async Task<CliLab> StartAsync(ITestOutputHelper output, params (string Name, string Labels)[] pods)
    {
        var prefix = NamePrefix.Random("mc");
        var node = NodeNamespace.Create(prefix, IPAddress.Parse("10.244.1.1"));
        var lab = new CliLab(node, prefix, output);
        try
        {
            for (var i = 0; i < pods.Length; i++)
            {
                lab.Pods[ShortName(pods[i].Name)] = node.AddPod(ShortName(pods[i].Name), IPAddress.Parse($"10.244.1.{11 + i}"));
            }

            node.WriteHostsFiles();
            await lab.StartAgentAsync();
            foreach (var (name, labels) in pods)
            {
                var pod = lab.Pods[ShortName(name)];
                var (code, stdout, stderr) = await lab.MembraneAsync("endpoint", "create", "--pod", name.Contains('/', StringComparison.Ordinal) ? name : $"default/{name}",
                    "--label", labels, "--interface", pod.HostInterface, "--ipv4", pod.Address.ToString());
                Assert.True(code == 0, $"endpoint create {name}: {stdout}{stderr}");
            }

            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private static string ShortName(string name) => name[(name.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public async Task StartAgentAsync()
    {
        _agent = MembraneProcess.Start(["nsenter", $"--net={Node.Path}"],
            ["agent", "--instance", Instance, "--node-netns", Node.Path, "--state-dir", _stateDirectory, "--metrics-address", "127.0.0.1:0",
             "--conntrack-capacity", "16384", "--event-buffer-bytes", "262144"],
            AgentEnvironment);
        using var client = new AgentClient(AgentPaths.Socket(Instance));
        try
        {
            await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        }
        catch (AgentUnavailableException)
        {
            _output.WriteLine(string.Join('\n', _agent.Stderr));
            throw;
        }
    }

    /// <summary>Stops the agent with SIGTERM (a clean stop); returns its exit code.</summary>
    public async Task<int> StopAgentAsync()
    {
        var agent = _agent ?? throw new InvalidOperationException("no agent running");
        _agent = null;
        var code = await agent.StopAsync(TimeSpan.FromSeconds(20));
        foreach (var line in agent.Stderr)
        {
            _output.WriteLine(line);
        }

        agent.Dispose();
        return code;
    }

    /// <summary>Runs <c>membrane ARGS --instance INSTANCE</c>.</summary>
    public Task<(int Code, string Stdout, string Stderr)> MembraneAsync(params string[] args) =>
        MembraneProcess.RunAsync([.. args, "--instance", Instance]);

    /// <summary>Starts a long-running verb (monitor, observe --follow) against the instance.</summary>
    public RunningProcess StartMembrane(params string[] args) => MembraneProcess.Start([], [.. args, "--instance", Instance]);

    /// <summary>Starts <c>membrane workload kafka</c> (librdkafka's mock cluster) on the pod's address and waits until it answers.</summary>
    public async Task ServeKafkaAsync(string pod, int port, params string[] topics)
    {
        var address = $"{Pods[pod].Address}:{port}";
        var workload = MembraneProcess.Start(["ip", "netns", "exec", Pods[pod].Name],
            ["workload", "kafka", "--listen", address, .. topics.SelectMany(t => new[] { "--topic", t })]);
        _workloads.Add(workload);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var (code, _, _) = await MembraneProcess.RunProgramAsync("ip",
                ["netns", "exec", Pods[pod].Name, "kcat", "-b", address, "-L", "-m", "2"], TimeSpan.FromSeconds(10));
            if (code == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"workload kafka on {pod} did not start: {string.Join('\n', workload.Stderr)}");
    }

    /// <summary>Runs a program inside a pod (<c>ip netns exec</c>), bounded in time.</summary>
    public Task<(int Code, string Stdout, string Stderr)> InPodAsync(string pod, TimeSpan timeout, string? stdin, params string[] command) =>
        MembraneProcess.RunProgramAsync("ip", ["netns", "exec", Pods[pod].Name, .. command], timeout, stdin);

    /// <summary>Starts <c>membrane workload http</c> in a pod and waits until it answers.</summary>
    public Task ServeHttpAsync(string pod, int port) => ServeAsync("http", pod, port);

    /// <summary>Starts <c>membrane workload grpc</c> (the catalog service, h2c) in a pod and waits until it accepts connections.</summary>
    public Task ServeGrpcAsync(string pod, int port) => ServeAsync("grpc", pod, port);

    private async Task ServeAsync(string kind, string pod, int port)
    {
        var workload = MembraneProcess.Start(["ip", "netns", "exec", Pods[pod].Name], ["workload", kind, "--listen", $"0.0.0.0:{port}"]);
        _workloads.Add(workload);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var (code, _, _) = await MembraneProcess.RunProgramAsync("ip",
                ["netns", "exec", Pods[pod].Name, "curl", "-s", "-o", "/dev/null", "--max-time", "1", $"http://127.0.0.1:{port}/"], TimeSpan.FromSeconds(10));
            // curl connected (exit 0), or got an answer it could not read as HTTP/1.1 from the h2c-only server (exit 1, 8, 56).
            if (code is 0 or 1 or 8 or 16 or 56)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"workload {kind} on {pod}:{port} did not start: {string.Join('\n', workload.Stderr)}");
    }

    /// <summary>curl from a pod: the HTTP status ("000" when nothing answered) and the body.</summary>
    public async Task<(string Status, string Body)> CurlAsync(string fromPod, string method, string url, double maxSeconds = 3)
    {
        const string Marker = "\n@@status=";
        var (_, stdout, _) = await MembraneProcess.RunProgramAsync("ip",
            ["netns", "exec", Pods[fromPod].Name, "curl", "-s", "-X", method, "--max-time", maxSeconds.ToString(CultureInfo.InvariantCulture), "-w", Marker + "%{http_code}", url],
            TimeSpan.FromSeconds(maxSeconds + 10));
        var at = stdout.LastIndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? ("000", stdout) : (stdout[(at + Marker.Length)..].Trim(), stdout[..at]);
    }

    public string WritePolicy(string name, string yaml)
    {
        var path = Path.Combine(_stateDirectory, "..", Path.GetFileName(_stateDirectory) + "-policies", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return Path.GetFullPath(path);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workloads)
        {
            await w.StopAsync(TimeSpan.FromSeconds(5));
            w.Dispose();
        }

        if (_agent is not null)
        {
            await StopAgentAsync();
        }

        EbpfDatapath.RemoveInstancePins(Instance);
        Node.Dispose();
        foreach (var dir in new[] { _stateDirectory, _stateDirectory + "-policies" })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
