using System.Net;
using Membrane.Agent.Api;
using Membrane.Agent.Hosting;
using Membrane.Datapath;
using Membrane.Datapath.Netns;
using Membrane.Tests.Shared;
using Xunit.Abstractions;

namespace Membrane.Agent.Tests.Support;

/// <summary>A pod of a test lab: its namespace and the endpoint the agent made for it.</summary>
internal sealed record LabPod(string Name, string Namespace, PodNamespace Netns, EndpointModel Endpoint)
{
    public IPAddress Address => Netns.Address;
}

/// <summary>
/// A node namespace with pods (10.244.1.11, .12, ...) under a random prefix and a real agent (in this process) that
/// enforces it, with endpoints created through the API client. Dispose stops the agent and removes everything it and
/// the lab created (programs, pins, state, namespaces, servers), also after a failed test.
/// </summary>
internal sealed class AgentLab : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _servers = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly ITestOutputHelper _output;
    private AgentHost? _host;

    private AgentLab(NodeNamespace node, string prefix, AgentOptions options, ITestOutputHelper output)
    {
        Node = node;
        Prefix = prefix;
        Options = options;
        _output = output;
    }

    public static IPAddress Router { get; } = IPAddress.Parse("10.244.1.1");

    public NodeNamespace Node { get; }

    public string Prefix { get; }

    public AgentOptions Options { get; }

    public AgentHost Host => _host ?? throw new InvalidOperationException("the agent is stopped");

    public AgentClient Client { get; private set; } = null!;

    public List<LabPod> Pods { get; } = [];

    public LabPod this[string name] => Pods.Single(p => p.Name == name);

    public static async Task<AgentLab> StartAsync(ITestOutputHelper output, IReadOnlyList<(string Name, string Namespace, Dictionary<string, string> Labels)> pods,
        Func<AgentOptions, AgentOptions>? configure = null)
    {
        var prefix = NamePrefix.Random("ma");
        var node = NodeNamespace.Create(prefix, Router);
        AgentLab? lab = null;
        try
        {
            var stateDirectory = Directory.CreateTempSubdirectory("membrane-agent-test-").FullName;
            var options = new AgentOptions
            {
                Instance = prefix,
                NodeNamespacePath = node.Path,
                StateDirectory = stateDirectory,
                MetricsAddress = new IPEndPoint(IPAddress.Loopback, 0),
                ConntrackCapacity = 16384,
                EventBufferBytes = 1 << 18,
                ConntrackGcInterval = TimeSpan.FromSeconds(5),
            };
            lab = new AgentLab(node, prefix, configure?.Invoke(options) ?? options, output);
            var namespaces = new List<PodNamespace>();
            for (var i = 0; i < pods.Count; i++)
            {
                namespaces.Add(node.AddPod(pods[i].Name, IPAddress.Parse($"10.244.1.{11 + i}")));
            }

            node.WriteHostsFiles();
            await lab.StartAgentAsync();
            for (var i = 0; i < pods.Count; i++)
            {
                var (name, ns, labels) = pods[i];
                var endpoint = await lab.Client.CreateEndpointAsync(new EndpointCreateRequest
                {
                    PodName = name,
                    Namespace = ns,
                    Labels = labels,
                    InterfaceName = namespaces[i].HostInterface,
                    IPv4 = namespaces[i].Address.ToString(),
                });
                lab.Pods.Add(new LabPod(name, ns, namespaces[i], endpoint));
            }

            return lab;
        }
        catch
        {
            if (lab is not null)
            {
                await lab.DisposeAsync();
            }
            else
            {
                node.Dispose();
            }

            throw;
        }
    }

    public async Task StartAgentAsync()
    {
        _host = await AgentHost.StartAsync(Options, new AgentLog(new TestOutputWriter(_output)));
        Client?.Dispose();
        Client = new AgentClient(_host.SocketPath);
    }

    /// <summary>Stops the agent (the kernel keeps enforcing) without removing anything.</summary>
    public async Task StopAgentAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }
    }

    public async Task<PodHttpServer> ServeHttpAsync(string pod, int port)
    {
        var server = await PodHttpServer.StartAsync(this[pod].Netns.Path, port);
        _servers.Add(server);
        return server;
    }

    public PodEchoServer ServeEcho(string pod, int port)
    {
        var server = new PodEchoServer(this[pod].Netns.Path, port);
        _disposables.Add(server);
        return server;
    }

    /// <summary>curl from a pod; returns the HTTP status ("000" when no answer came) and the body.</summary>
    public async Task<(string Status, string Body)> CurlAsync(string fromPod, string method, string url, double maxSeconds = 3)
    {
        var marker = "\n@@status=";
        var (_, stdout, _) = await Processes.RunAsync("ip",
            ["netns", "exec", this[fromPod].Netns.Name, "curl", "-s", "-X", method, "--max-time", maxSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-w", marker + "%{http_code}", url],
            TimeSpan.FromSeconds(maxSeconds + 10));
        var at = stdout.LastIndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? ("000", stdout) : (stdout[(at + marker.Length)..].Trim(), stdout[..at]);
    }

    public async Task<PolicyChangeResponse> ImportAsync(string name, string yaml) =>
        await Client.ImportPoliciesAsync(new PolicyImportRequest { Documents = [new PolicyDocument(name, yaml)] });

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        foreach (var d in _disposables)
        {
            d.Dispose();
        }

        Client?.Dispose();
        try
        {
            if (_host is not null)
            {
                await _host.DestroyAsync();
            }
            else
            {
                EbpfDatapath.RemoveInstancePins(Prefix);
            }
        }
        finally
        {
            Node.Dispose();
            if (Options.StateDirectory is { } dir && Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
