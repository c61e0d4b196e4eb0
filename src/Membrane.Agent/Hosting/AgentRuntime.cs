using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Membrane.Agent.Api;
using Membrane.Agent.Endpoints;
using Membrane.Agent.Flows;
using Membrane.Agent.Policies;
using Membrane.Agent.Proxy;
using Membrane.Agent.State;
using Membrane.Datapath;
using Membrane.Datapath.Netns;
using Membrane.Observer;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Proxy;
using Membrane.Proxy.Kafka;

namespace Membrane.Agent.Hosting;

/// <summary>
/// The agent: owns the node namespace's datapath, the proxy, the endpoints, identities, ipcache and policy repository,
/// the flow buffer and metrics, and serves them through <see cref="IAgentApi"/>. Every change (endpoint, policy) runs
/// under one write lock: it is validated whole, computed by the repository, written to the kernel as per-endpoint
/// deltas (each atomic), saved to the state directory, and only then published to the proxy and the flow adapters
/// as a new immutable view. A rejected change leaves the previous revision enforcing.
/// </summary>
internal sealed partial class AgentRuntime : IAgentApi, IAsyncDisposable
{
    private readonly AgentOptions _options;
    private readonly AgentLog _log;
    private readonly StateStore _store;
    private readonly EbpfDatapath _datapath;
    private readonly LocalIdentityAllocator _allocator;
    private readonly InMemoryIpCache _ipCache;
    private readonly PolicyRepository _repository;
    private readonly FlowObserver _observer;
    private readonly FlowPolicyCache _flowPolicies = new();
    private readonly NetnsThread _nodeThread;
    private readonly bool _inNodeNamespace;
    private readonly Lock _gate = new();
    private readonly List<IpCacheChange> _pendingIpcache = [];
    private readonly Dictionary<ushort, EndpointState> _endpoints = [];
    private readonly Dictionary<ushort, string> _endpointStatus = [];
    private readonly HashSet<IPAddress> _hostAddresses = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lostGate = new();
    private PolicyDocuments _documents = new([]);
    private volatile AgentView _view = AgentView.Empty;
    private long _publishedRevision;
    private long _policyRevision;
    private int _nextEndpointId = 1;
    private string? _stateError;
    private DatapathFlowAdapter? _datapathFlows;
    private ProxyFlowSink? _proxyFlows;
    private Task? _datapathFlowTask;
    private ProxyServer? _proxy;
    private readonly List<(string Protocol, ProxyListener Listener)> _listeners = [];
    private string? _proxyError;
    private MetricsServer? _metrics;
    private string? _metricsError;
    private ApiServer? _api;
    private ulong _reportedKernelLost;
    private long _reportedQueueLost;
    private bool _disposed;

    private AgentRuntime(AgentOptions options, AgentLog log, StateStore store, EbpfDatapath datapath, LocalIdentityAllocator allocator,
        InMemoryIpCache ipCache, PolicyRepository repository, NetnsThread nodeThread, bool inNodeNamespace, string nodeNamespace)
    {
        _options = options;
        _log = log;
        _store = store;
        _datapath = datapath;
        _allocator = allocator;
        _ipCache = ipCache;
        _repository = repository;
        _nodeThread = nodeThread;
        _inNodeNamespace = inNodeNamespace;
        NodeNamespace = nodeNamespace;
        NodeName = options.NodeName ?? options.Instance;
        Started = DateTimeOffset.UtcNow;
        _observer = new FlowObserver(options.FlowBufferCapacity);
        _ipCache.Changed += change => _pendingIpcache.Add(change);
    }

    public string NodeNamespace { get; }

    public string NodeName { get; }

    public DateTimeOffset Started { get; }

    public string SocketPath => _api?.SocketPath ?? AgentPaths.Socket(_options.Instance);

    public IPEndPoint? MetricsAddress => _metrics?.Address;

    internal FlowObserver Observer => _observer;

    internal EbpfDatapath Datapath => _datapath;

    private bool EnforcementAlways => _options.PolicyEnforcement == "always";

    public static async Task<AgentRuntime> StartAsync(AgentOptions options, AgentLog log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var instance = AgentPaths.ValidateInstance(options.Instance);
        var enforcement = options.PolicyEnforcement switch
        {
            "default" => PolicyEnforcementMode.Default,
            "always" => PolicyEnforcementMode.Always,
            "never" => PolicyEnforcementMode.Never,
            _ => throw new AgentStartException($"--enable-policy {options.PolicyEnforcement}: expected default, always or never"),
        };
        if (options.FlowBufferCapacity is < 1 or > Membrane.Observer.Flows.FlowRing.MaxCapacity)
        {
            throw new AgentStartException($"--flow-buffer {options.FlowBufferCapacity}: expected 1-{Membrane.Observer.Flows.FlowRing.MaxCapacity}");
        }

        // Before touching the kernel: a second agent of an instance would take over its programs and maps.
        if (AgentClient.IsListening(AgentPaths.Socket(instance)))
        {
            throw new AgentStartException($"another agent of instance {instance} is running (it answers on {AgentPaths.Socket(instance)})");
        }

        var nodeNamespace = options.NodeNamespacePath ?? $"/proc/{Environment.ProcessId}/ns/net";
        if (!File.Exists(nodeNamespace))
        {
            throw new AgentStartException($"--node-netns {nodeNamespace}: no such network namespace");
        }

        var stateDirectory = options.StateDirectory ?? AgentPaths.DefaultStateDirectory(instance);
        var store = new StateStore(stateDirectory);
        AgentState state;
        try
        {
            state = store.Load() ?? new AgentState();
        }
        catch (InvalidDataException e)
        {
            throw new AgentStartException(e.Message, e);
        }

        NetnsThread nodeThread;
        try
        {
            nodeThread = new NetnsThread(nodeNamespace);
        }
        catch (DatapathException e)
        {
            throw new AgentStartException($"cannot enter the node network namespace {nodeNamespace}: {e.Message}", e);
        }

        EbpfDatapath? datapath = null;
        AgentRuntime? runtime = null;
        try
        {
            var inNode = nodeThread.Run(NamespaceId) == NamespaceId();
            datapath = EbpfDatapath.Open(new DatapathOptions
            {
                Instance = instance,
                NodeNamespacePath = nodeNamespace,
                ProxyPorts = new ProxyPorts(options.HttpProxyPort, options.KafkaProxyPort),
                ConntrackCapacity = options.ConntrackCapacity,
                EventBufferBytes = options.EventBufferBytes,
                PolicyVerdictEvents = options.PolicyVerdictEvents,
                TraceEvents = options.TraceEvents,
                ConntrackGcInterval = options.ConntrackGcInterval,
                EventChannelCapacity = options.EventQueueCapacity,
                BpffsRoot = options.BpffsRoot,
                ObjectDirectory = options.BpfObjectDirectory,
            });
            var allocator = new LocalIdentityAllocator(state.Identities.Select(i =>
                KeyValuePair.Create(new NumericIdentity(i.Id), new LabelSet(i.Labels.Select(l => Label.Parse(l))))));
            var ipCache = new InMemoryIpCache();
            var repository = new PolicyRepository(allocator, ipCache, new PolicyRepositoryOptions { EnforcementMode = enforcement });
            runtime = new AgentRuntime(options, log, store, datapath, allocator, ipCache, repository, nodeThread, inNode, nodeNamespace);
            runtime.Restore(state);
            runtime.StartFlows();
            await runtime.StartProxyAsync(cancellationToken).ConfigureAwait(false);
            await runtime.StartMetricsAsync(cancellationToken).ConfigureAwait(false);
            runtime._api = await ApiServer.StartAsync(AgentPaths.Socket(instance), runtime, log, cancellationToken).ConfigureAwait(false);
            log.Info($"agent {instance} ready: {runtime._endpoints.Count} endpoints, {runtime._repository.Policies.Count} policies (revision {runtime._policyRevision}), " +
                $"datapath {datapath.Features.AttachMode}, API {runtime.SocketPath}" +
                (runtime._metrics is { } m ? $", metrics http://{m.Address}/metrics" : ""));
            return runtime;
        }
        catch (Exception e)
        {
            if (runtime is not null)
            {
                await runtime.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                datapath?.Dispose();
                nodeThread.Dispose();
            }

            if (e is DatapathException or InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException or SocketException)
            {
                throw new AgentStartException(e.Message, e);
            }

            throw;
        }
    }

    /// <summary>Stops serving and closes this process's handles. The kernel keeps enforcing the last state.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        if (_api is not null)
        {
            await _api.DisposeAsync().ConfigureAwait(false);
        }

        if (_metrics is not null)
        {
            await _metrics.DisposeAsync().ConfigureAwait(false);
        }

        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_datapathFlowTask is not null)
        {
            await _datapathFlowTask.ConfigureAwait(false);
        }

        _datapath.Dispose();
        _nodeThread.Dispose();
    }

    /// <summary>Stops, then removes everything of this instance from the kernel (programs, maps, pins) and the state directory.</summary>
    public async Task DestroyAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(AgentRuntime));
            }
        }

        if (_api is not null)
        {
            await _api.DisposeAsync().ConfigureAwait(false);
            _api = null;
        }

        if (_metrics is not null)
        {
            await _metrics.DisposeAsync().ConfigureAwait(false);
            _metrics = null;
        }

        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
            _proxy = null;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_datapathFlowTask is not null)
        {
            await _datapathFlowTask.ConfigureAwait(false);
        }

        lock (_gate)
        {
            _disposed = true;
        }

        _datapath.Destroy();
        _nodeThread.Dispose();
        if (Directory.Exists(_store.Directory))
        {
            Directory.Delete(_store.Directory, recursive: true);
        }
    }

    /// <summary>The network namespace the calling thread is in (<c>net:[inode]</c>).</summary>
    private static string NamespaceId() => File.ResolveLinkTarget("/proc/thread-self/ns/net", returnFinalTarget: false)?.Name ?? "";

    private void StartFlows()
    {
        _datapathFlows = new DatapathFlowAdapter(_observer, () => _view, _repository.GetEndpointPolicy, _flowPolicies, EnforcementAlways, NodeName);
        _proxyFlows = new ProxyFlowSink(_observer, _flowPolicies, NodeName);
        var events = _datapath.Events;
        _datapathFlowTask = Task.Run(() => _datapathFlows.RunAsync(events, _stopping.Token));
    }

    private async Task StartProxyAsync(CancellationToken cancellationToken)
    {
        var source = new AgentPolicySource(() => _view, _ipCache, _repository, () => Interlocked.Read(ref _publishedRevision));
        var options = new ProxyServerOptions
        {
            // The proxy's sockets (listeners and upstream connections) must live in the node namespace, whichever
            // namespace this process runs in: a socket keeps the namespace of the thread that created it.
            SocketFactory = _inNodeNamespace ? null : family => _nodeThread.Run(() => new Socket(family, SocketType.Stream, ProtocolType.Tcp)),
        };
        _proxy = new ProxyServer(source, _proxyFlows!, options);
        _proxy.RegisterEngine(L7Protocol.Kafka, new KafkaEngine());
        foreach (var (protocol, port) in new[] { ("http", _options.HttpProxyPort), ("kafka", _options.KafkaProxyPort) })
        {
            try
            {
                var listener = await _proxy.AddTransparentListenerAsync(port, preserveClientAddress: true, cancellationToken).ConfigureAwait(false);
                _listeners.Add((protocol, listener));
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                // Redirects to a missing listener are dropped by the datapath (fail closed); status shows why.
                _proxyError = $"{protocol} listener on port {port}: {e.Message}";
                _log.Error($"proxy: {_proxyError}");
            }
        }
    }

    private async Task StartMetricsAsync(CancellationToken cancellationToken)
    {
        if (_options.MetricsAddress is not { } address)
        {
            return;
        }

        try
        {
            var ns = _options.MetricsNamespacePath ?? HostNamespacePath();
            _metrics = await MetricsServer.StartAsync(address, ns, WriteMetrics, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or DatapathException or InvalidOperationException)
        {
            _metricsError = $"{address}: {Innermost(e).Message}";
            _log.Warn($"metrics are not served: {_metricsError}");
        }
    }

    /// <summary>
    /// The host's (initial) network namespace: PID 1's, or kthreadd's when PID 1's is hidden (containers and sandboxes
    /// may deny reading <c>/proc/1/ns</c>; kernel threads always run in the initial namespace).
    /// </summary>
    private static string HostNamespacePath()
    {
        foreach (var candidate in new[] { "/proc/1/ns/net", "/proc/2/ns/net" })
        {
            try
            {
                if (File.ResolveLinkTarget(candidate, returnFinalTarget: false) is not null
                    && (candidate.StartsWith("/proc/1/", StringComparison.Ordinal) || File.ReadAllText("/proc/2/comm").Trim() == "kthreadd"))
                {
                    return candidate;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return "/proc/1/ns/net";
    }

    /// <summary>The node namespace's own IPv4 addresses (reserved:host), loopback excluded.</summary>
    private IReadOnlyList<IPAddress> NodeAddresses() => _nodeThread.Run(() =>
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
                .Distinct()
                .ToList();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    });

    /// <summary>Adds new node addresses to the ipcache as reserved:host (the node's own traffic to its pods).</summary>
    private void RefreshHostAddresses()
    {
        foreach (var address in NodeAddresses())
        {
            if (_hostAddresses.Add(address))
            {
                _ipCache.Upsert(IpPrefix.Host(address), NumericIdentity.Host, IpCacheSource.Remote);
            }
        }
    }

    /// <summary>Writes the ipcache changes the repository made into the kernel (local endpoints' addresses are the
    /// datapath's own: it maps them when an endpoint is added).</summary>
    private void FlushIpcache()
    {
        var changes = _pendingIpcache.ToList();
        _pendingIpcache.Clear();
        foreach (var change in changes)
        {
            if (change.Prefix.Family != AddressFamily.InterNetwork)
            {
                continue;
            }

            var network = new IPNetwork(change.Prefix.Address, change.Prefix.Length);
            if (change.Prefix.Length == 32 && _datapath.Endpoints.Any(e => e.Address.Equals(change.Prefix.Address)))
            {
                continue;
            }

            if (change.New is { } identity)
            {
                _datapath.UpsertIpcache(network, identity);
            }
            else
            {
                _datapath.DeleteIpcache(network);
            }
        }
    }

    /// <summary>Applies map-state deltas to the endpoints the kernel has (each endpoint atomically).</summary>
    private void ApplyDeltas(IEnumerable<MapStateDelta> deltas)
    {
        var known = _datapath.Endpoints.Select(e => e.Id).ToHashSet();
        var list = deltas.Where(d => !d.IsEmpty && known.Contains(d.EndpointId)).ToList();
        if (list.Count > 0)
        {
            _datapath.ApplyPolicies(list);
        }
    }

    /// <summary>
    /// Saves the state, rebuilds the view, and moves the published revision (the proxy re-resolves, flows name the
    /// new revision). Called at the end of every change, under the write lock.
    /// </summary>
    private void Publish()
    {
        SaveState();
        var identities = ReservedIdentities.Identities
            .Select(i => KeyValuePair.Create(i.Key.Value, i.Value))
            .Concat(_allocator.Snapshot().Select(i => KeyValuePair.Create(i.Identity.Value, i.Labels)));
        var endpoints = new List<EndpointView>();
        foreach (var (id, state) in _endpoints)
        {
            if (_repository.GetEndpointPolicy(id) is { } policy && IPAddress.TryParse(state.IPv4, out var address))
            {
                endpoints.Add(new EndpointView(state, policy.Identity, policy.Endpoint.IdentityLabels, address));
            }
        }

        _view = new AgentView(endpoints, identities, _policyRevision);
        _flowPolicies.Reset(_policyRevision);
        Interlocked.Increment(ref _publishedRevision);
    }

    private void SaveState()
    {
        var state = new AgentState
        {
            PolicyRevision = _policyRevision,
            NextEndpointId = _nextEndpointId,
            Endpoints = [.. _endpoints.Values.OrderBy(e => e.Id)],
            Identities = [.. _allocator.Snapshot().Select(i => new IdentityState(i.Identity.Value, [.. i.Labels.Select(l => l.ToString())]))],
            Documents = [.. _documents.Documents],
        };
        try
        {
            _store.Save(state);
            _stateError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The change is enforced; only its survival across a restart is at risk. Status shows it.
            _stateError = $"{_store.FilePath}: {e.Message}";
            _log.Error($"state not saved: {_stateError}");
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
