using System.Net;
using Membrane.Agent.Api;
using Membrane.Agent.Hosting;

namespace Membrane.Agent.Tests.Api;

/// <summary>
/// The API transport: a root-only unix socket per instance, discovery of the running instance by the client, refusals
/// carried as status and itemized errors, streamed lines. The server is driven by a scripted <see cref="IAgentApi"/>.
/// </summary>
public sealed class ApiServerTests : IAsyncLifetime
{
    private readonly string _runDirectory = Path.Combine(Path.GetTempPath(), "membrane-run-test-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string? _previousRunDirectory = Environment.GetEnvironmentVariable(AgentPaths.RunDirectoryVariable);
    private readonly string? _previousInstance = Environment.GetEnvironmentVariable(AgentPaths.InstanceVariable);
    private readonly List<ApiServer> _servers = [];
    private readonly AgentLog _log = new(TextWriter.Null);

    public Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(AgentPaths.RunDirectoryVariable, _runDirectory);
        Environment.SetEnvironmentVariable(AgentPaths.InstanceVariable, null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        Environment.SetEnvironmentVariable(AgentPaths.RunDirectoryVariable, _previousRunDirectory);
        Environment.SetEnvironmentVariable(AgentPaths.InstanceVariable, _previousInstance);
        if (Directory.Exists(_runDirectory))
        {
            Directory.Delete(_runDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task The_client_finds_the_only_running_agent_and_refuses_to_guess_between_several()
    {
        var none = Assert.Throws<AgentUnavailableException>(() => AgentClient.Connect());
        Assert.Contains("no Membrane agent is running", none.Message);

        await StartAsync("alpha");
        Directory.CreateDirectory(Path.Combine(_runDirectory, "stale"));
        await File.WriteAllTextAsync(Path.Combine(_runDirectory, "stale", AgentPaths.SocketFileName), "");
        using (var only = AgentClient.Connect())
        {
            Assert.Equal("alpha", (await only.GetStatusAsync()).Instance);
        }

        await StartAsync("beta");
        var several = Assert.Throws<AgentUnavailableException>(() => AgentClient.Connect());
        Assert.Contains("several agents are running (alpha, beta)", several.Message);
        Assert.Contains("--instance", several.Message);

        using (var chosen = AgentClient.Connect("beta"))
        {
            Assert.Equal("beta", (await chosen.GetStatusAsync()).Instance);
        }

        Environment.SetEnvironmentVariable(AgentPaths.InstanceVariable, "alpha");
        using (var fromEnvironment = AgentClient.Connect())
        {
            Assert.Equal("alpha", (await fromEnvironment.GetStatusAsync()).Instance);
        }

        using var missing = AgentClient.Connect("gamma");
        var down = await Assert.ThrowsAsync<AgentUnavailableException>(() => missing.GetStatusAsync());
        Assert.Contains("is `membrane agent` running?", down.Message);
    }

    [Fact]
    public async Task The_socket_is_root_only_and_a_second_agent_of_the_instance_is_refused()
    {
        var server = await StartAsync("alpha");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(server.SocketPath)!));

        var second = await Assert.ThrowsAsync<AgentStartException>(() => StartAsync("alpha"));
        Assert.Contains("another agent of this instance is running", second.Message);

        await server.DisposeAsync();
        _servers.Remove(server);
        Assert.False(File.Exists(server.SocketPath));

        // A socket left behind by a killed agent does not stop the next one.
        Directory.CreateDirectory(Path.GetDirectoryName(server.SocketPath)!);
        await File.WriteAllTextAsync(server.SocketPath, "");
        await StartAsync("alpha");
        using var client = AgentClient.Connect("alpha");
        Assert.Equal("alpha", (await client.GetStatusAsync()).Instance);
    }

    [Fact]
    public async Task Refusals_carry_their_status_and_every_error_and_streams_arrive_line_by_line()
    {
        await StartAsync("alpha");
        using var client = AgentClient.Connect("alpha");

        var invalid = await Assert.ThrowsAsync<AgentApiException>(() => client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "Bad_Name", Namespace = "default", InterfaceName = "veth1", IPv4 = "10.0.0.1",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal(["podName \"Bad_Name\": invalid", "second error"], invalid.Error.Errors);

        var missing = await Assert.ThrowsAsync<AgentApiException>(() => client.GetEndpointAsync("default/nobody"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("no endpoint for pod \"default/nobody\"", missing.Message);

        var broken = await Assert.ThrowsAsync<AgentApiException>(() => client.ListIdentitiesAsync());
        Assert.Equal(HttpStatusCode.InternalServerError, broken.Status);
        Assert.StartsWith("internal error: boom", broken.Message);

        var lines = new List<string>();
        await foreach (var line in client.ObserveAsync(new ObserveRequest(["--last", "3"])))
        {
            lines.Add(line);
        }

        Assert.Equal(["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"], lines);
        var badFilter = await Assert.ThrowsAsync<AgentApiException>(async () =>
        {
            await foreach (var _ in client.ObserveAsync(new ObserveRequest(["--bogus"])))
            {
            }
        });
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.Status);
    }

    private async Task<ApiServer> StartAsync(string instance)
    {
        var server = await ApiServer.StartAsync(AgentPaths.Socket(instance), new ScriptedApi(instance), _log, CancellationToken.None);
        _servers.Add(server);
        return server;
    }

    /// <summary>Answers with fixed data, refusals and a three-line stream.</summary>
    private sealed class ScriptedApi(string instance) : IAgentApi
    {
        public StatusModel GetStatus() => new()
        {
            Instance = instance, Version = "test", NodeNamespace = "/proc/self/ns/net", StateDirectory = "/tmp", Kernel = "6.18", Features = [],
            DatapathMode = "tcx", PinRoot = "/sys/fs/bpf", Maps = [], ProxyListeners = [], Flows = new FlowStatusModel(), Health = [],
        };

        public EndpointModel CreateEndpoint(EndpointCreateRequest request) =>
            throw ApiProblem.BadRequest("invalid endpoint: 2 error(s)", [$"podName \"{request.PodName}\": invalid", "second error"]);

        public IReadOnlyList<EndpointModel> ListEndpoints() => [];

        public EndpointModel GetEndpoint(string idOrPod) => throw ApiProblem.NotFound($"no endpoint for pod \"{idOrPod}\"");

        public EndpointModel DeleteEndpoint(string idOrPod) => throw ApiProblem.NotFound(idOrPod);

        public IReadOnlyList<IdentityModel> ListIdentities() => throw new InvalidOperationException("boom");

        public IdentityModel GetIdentity(uint id) => throw ApiProblem.NotFound($"identity {id}");

        public PolicyChangeResponse ImportPolicies(PolicyImportRequest request) => throw new NotSupportedException();

        public PolicyChangeResponse DeletePolicies(PolicyDeleteRequest request) => throw new NotSupportedException();

        public PolicyListResponse ListPolicies(bool withText) => new(0, []);

        public PolicySourcesResponse ListPolicySources() => new(0, []);

        public BpfPolicyResponse GetBpfPolicy(string idOrPod) => throw new NotSupportedException();

        public IReadOnlyList<ConntrackEntryModel> ListConntrack() => [];

        public IReadOnlyList<IpcacheEntryModel> ListIpcache() => [];

        public object PrepareObserve(ObserveRequest request) =>
            request.Arguments.Contains("--bogus") ? throw ApiProblem.BadRequest("--bogus: unknown flag") : request;

        public async Task ObserveAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken)
        {
            for (var i = 0; i < 3; i++)
            {
                await writeLine($"{{\"n\":{i}}}", true);
            }
        }

        public object PrepareMonitor(MonitorRequest request) => request;

        public Task MonitorAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken) => Task.CompletedTask;

        public void WriteMetrics(TextWriter output) => output.Write("membrane_test 1\n");
    }
}
