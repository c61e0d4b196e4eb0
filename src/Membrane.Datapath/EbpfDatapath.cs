using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Membrane.Datapath.Events;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Maps;
using Membrane.Datapath.Netns;
using Membrane.Datapath.Programs;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath;

/// <summary>
/// The eBPF datapath of one node: loads the programs, owns the pinned maps of an instance, attaches to endpoints,
/// and turns the Policy layer's map state into kernel state. Everything it creates lives in the kernel and on bpffs
/// (<c>/sys/fs/bpf/membrane/v2/&lt;instance&gt;/</c>, see <see cref="InstancePinRoot"/>): disposing this object leaves enforcement running, and
/// opening the same instance again (a restarted agent) reuses the maps and replaces the programs in place.
/// <see cref="Destroy"/> removes everything. Thread-safe: mutations are serialized, reads may run concurrently.
/// </summary>
public sealed class EbpfDatapath : IDisposable
{
    private readonly DatapathOptions _options;
    private readonly PinPaths _paths;
    private readonly NetnsThread _node;
    private readonly ProgramSet _programs;
    private readonly BpfMap[] _maps;
    private readonly EndpointTable _endpointTable;
    private readonly IpcacheMaps _ipcache;
    private readonly ConntrackTable _conntrack;
    private readonly MetricsTable _metrics;
    private readonly BpfMap _config;
    private readonly PolicyMapWriter _policyWriter;
    private readonly EndpointAttacher _attacher;
    private readonly PolicyCookies _cookies = new();
    private readonly Dictionary<ushort, EndpointRecord> _endpoints = [];
    private readonly Lock _gate = new();
    private DatapathEventReader? _events;
    private Timer? _conntrackCollector;
    private long _conntrackCollected;
    private volatile ImmutableDictionary<int, string> _interfaceNames = ImmutableDictionary<int, string>.Empty;
    private bool _disposed;

    private EbpfDatapath(DatapathOptions options, PinPaths paths, NetnsThread node, DatapathFeatures features, ProgramSet programs)
    {
        _options = options;
        _paths = paths;
        _node = node;
        Features = features;
        _programs = programs;
        _maps = MapNames.All.Select(name => BpfMap.OpenPinned(paths.Map(name), name)).ToArray();
        _endpointTable = new EndpointTable(Map(MapNames.Endpoints));
        _ipcache = new IpcacheMaps(Map(MapNames.IpcacheHosts), Map(MapNames.IpcacheCidrs));
        _conntrack = new ConntrackTable(Map(MapNames.Conntrack));
        _metrics = new MetricsTable(Map(MapNames.Metrics), Map(MapNames.Counters));
        _config = Map(MapNames.Config);
        _policyWriter = new PolicyMapWriter(Map(MapNames.PolicyMaps), _endpointTable, _ipcache);
        _attacher = new EndpointAttacher(node, paths, features.Tcx && !options.ForceTcClsact);
    }

    /// <summary>What the kernel supports.</summary>
    public DatapathFeatures Features { get; }

    /// <summary>The instance's bpffs directory.</summary>
    public string PinRoot => _paths.Root;

    /// <summary>The proxy ports redirect entries are written with.</summary>
    public ProxyPorts ProxyPorts => _options.ProxyPorts;

    /// <summary>Kernel events (drops, and policy verdicts and traces when enabled), for one consumer. Empty when
    /// <see cref="DatapathOptions.ConsumeEvents"/> is false.</summary>
    public ChannelReader<DatapathEvent> Events => _events?.Reader ?? Channel.CreateUnbounded<DatapathEvent>().Reader;

    /// <summary>The endpoints, ordered by id.</summary>
    public IReadOnlyList<DatapathEndpoint> Endpoints
    {
        get
        {
            lock (_gate)
            {
                return _endpoints.Values.OrderBy(e => e.Id).Select(ToPublic).ToList();
            }
        }
    }

    /// <summary>
    /// Opens (or creates) the datapath instance: mounts bpffs if needed, probes the kernel, installs the proxy
    /// routing in the node namespace, loads the programs (reusing pinned maps), and re-attaches the endpoints of a
    /// previous run with the new programs (replaced in place: established connections continue).
    /// </summary>
    /// <exception cref="DatapathException">A kernel feature is missing or a kernel operation failed.</exception>
    public static EbpfDatapath Open(DatapathOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!BitConverter.IsLittleEndian)
        {
            throw new DatapathException("the datapath's map encodings assume a little-endian machine");
        }

        if (options.ConntrackCapacity < 1024 || options.EventBufferBytes < 4096 || (options.EventBufferBytes & (options.EventBufferBytes - 1)) != 0)
        {
            throw new ArgumentException("ConntrackCapacity must be at least 1024 and EventBufferBytes a power of two of at least 4096");
        }

        var paths = new PinPaths(options.BpffsRoot, options.Instance);
        EnsureBpffs(options.BpffsRoot);
        var node = new NetnsThread(options.NodeNamespacePath);
        ProgramSet? programs = null;
        EbpfDatapath? datapath = null;
        try
        {
            var features = FeatureProbe.Run(node);
            if (features.Missing.Count > 0)
            {
                throw new DatapathException($"kernel {features.KernelRelease} lacks what the datapath needs: {string.Join(", ", features.Missing)}");
            }

            if (options.ConfigureProxyRouting)
            {
                ProxyRouting.Ensure(options.NodeNamespacePath);
            }

            programs = ProgramSet.Load(ObjectFiles.Directory(options.ObjectDirectory), paths, options.ConntrackCapacity, options.EventBufferBytes);
            datapath = new EbpfDatapath(options, paths, node, features, programs);
            datapath.WriteConfig();
            datapath.RestoreEndpoints();
            if (options.ConntrackGcInterval > TimeSpan.Zero)
            {
                datapath._conntrackCollector = new Timer(_ => datapath.CollectInBackground(), null, options.ConntrackGcInterval, options.ConntrackGcInterval);
            }

            if (options.ConsumeEvents)
            {
                datapath._events = new DatapathEventReader(datapath.Map(MapNames.Events),
                    new EventDecoder(datapath.InterfaceName, datapath._cookies), options.EventChannelCapacity);
            }

            return datapath;
        }
        catch
        {
            if (datapath is not null)
            {
                datapath.Dispose();
            }
            else
            {
                programs?.Dispose();
                node.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Registers an endpoint and attaches the programs to its host-side interface. Its policy is
    /// <paramref name="initialPolicy"/> (complete map state) or, when null, nothing: every packet is dropped
    /// (fail closed) until a policy is applied. Its address is entered in the ipcache as a local endpoint.
    /// </summary>
    public DatapathEndpoint AddEndpoint(ushort id, string interfaceName, NumericIdentity identity, IPAddress address,
        IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>>? initialPolicy = null)
    {
        NamePrefix.InterfaceName(interfaceName);
        if (id == 0)
        {
            throw new ArgumentException("endpoint id 0 is reserved", nameof(id));
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"endpoint {id}: {address} is not an IPv4 address", nameof(address));
        }

        var contents = Encode(id, initialPolicy ?? []);
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_endpoints.ContainsKey(id))
            {
                throw new ArgumentException($"endpoint {id} already exists", nameof(id));
            }

            if (_endpoints.Values.FirstOrDefault(e => e.Address.Equals(address)) is { } owner)
            {
                throw new ArgumentException($"endpoint {id}: address {address} already belongs to endpoint {owner.Id}", nameof(address));
            }

            var ifindex = _node.Run(() => Libc.InterfaceIndex(interfaceName));
            if (ifindex >= SharedConstants.ENDPOINT_IFINDEX_MAX)
            {
                throw new DatapathException($"endpoint {id}: interface {interfaceName} has index {ifindex}, above the datapath's limit of {SharedConstants.ENDPOINT_IFINDEX_MAX - 1}");
            }

            if (_endpoints.Values.FirstOrDefault(e => e.Ifindex == ifindex) is { } other)
            {
                throw new ArgumentException($"endpoint {id}: interface {interfaceName} already belongs to endpoint {other.Id}");
            }

            var policy = EndpointPolicyMaps.Create(_paths, id);
            var record = new EndpointRecord(id, ifindex, interfaceName, identity.Value, address, policy)
            {
                IngressRedirectHint = PolicyCodec.HasIngressRedirect(contents),
                PolicyMeta = EndpointRecord.MetaOf(contents),
            };
            try
            {
                PolicyMapWriter.WriteSlot(policy, 0, contents);
                PolicyMapWriter.WriteSlot(policy, 1, contents);
                _policyWriter.Install(record);
                _endpointTable.Write(record);
                _ipcache.UpsertEndpoint(record);
                record.AttachMode = _attacher.Attach(id, ifindex, interfaceName, _programs);
            }
            catch
            {
                Teardown(record, detach: true);
                throw;
            }

            _endpoints[id] = record;
            _interfaceNames = _interfaceNames.SetItem(ifindex, interfaceName);
            return ToPublic(record);
        }
    }

    /// <summary>Detaches an endpoint and removes its maps, ipcache entry and conntrack entries.</summary>
    /// <returns>False when there was no such endpoint.</returns>
    public bool RemoveEndpoint(ushort id)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_endpoints.Remove(id, out var record))
            {
                return false;
            }

            Teardown(record, detach: true);
            _interfaceNames = _interfaceNames.Remove(record.Ifindex);
            return true;
        }
    }

    /// <summary>Changes an endpoint's identity (its labels changed); established flows are re-checked.</summary>
    public void SetEndpointIdentity(ushort id, NumericIdentity identity)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var record = Endpoint(id);
            record.Identity = identity.Value;
            record.Generation++;
            _endpointTable.Write(record);
            _ipcache.UpsertEndpoint(record);
        }
    }

    /// <summary>Maps the addresses of <paramref name="prefix"/> to <paramref name="identity"/>. The entries of local
    /// endpoints keep their endpoint link (their identity changes with <see cref="SetEndpointIdentity"/>).</summary>
    public void UpsertIpcache(IPNetwork prefix, NumericIdentity identity)
    {
        IpcacheMaps.Validate(prefix);
        lock (_gate)
        {
            ThrowIfDisposed();
            var local = prefix.PrefixLength == 32 ? _endpoints.Values.FirstOrDefault(e => e.Address.Equals(prefix.BaseAddress)) : null;
            if (local is not null)
            {
                throw new ArgumentException($"ipcache {prefix}: the address belongs to endpoint {local.Id}; change its identity with SetEndpointIdentity");
            }

            _ipcache.Upsert(prefix, identity.Value);
        }
    }

    /// <summary>Removes an ipcache entry; false when absent.</summary>
    public bool DeleteIpcache(IPNetwork prefix)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return _ipcache.Delete(prefix);
        }
    }

    /// <summary>The ipcache, ordered by address.</summary>
    public IReadOnlyList<IpcacheEntry> ListIpcache() => _ipcache.List();

    /// <summary>Identity of an address as the datapath sees it (longest prefix; reserved:world when unknown).</summary>
    public NumericIdentity ResolveIdentity(IPAddress address)
    {
        var host = _ipcache.Get(new IPNetwork(address, 32));
        if (host is not null)
        {
            return host.Identity;
        }

        return LongestCidr(address)?.Identity ?? NumericIdentity.World;
    }

    /// <summary>Applies one endpoint's map-state delta atomically (no packet sees half of it).</summary>
    /// <exception cref="ArgumentException">The delta is invalid (unknown endpoint, key outside the contract, redirect
    /// without a proxy port, too many entries); nothing was changed.</exception>
    public void ApplyPolicy(MapStateDelta delta) => ApplyPolicies([delta]);

    /// <summary>
    /// Applies several endpoints' deltas: each endpoint atomically, all of them validated before any is written,
    /// and swapped together with one kernel grace period.
    /// </summary>
    public void ApplyPolicies(IReadOnlyCollection<MapStateDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        lock (_gate)
        {
            ThrowIfDisposed();
            var targets = new Dictionary<ushort, (EndpointRecord Endpoint, Dictionary<ulong, ulong> Contents)>();
            foreach (var delta in deltas)
            {
                if (delta.IsEmpty)
                {
                    continue;
                }

                var record = Endpoint(delta.EndpointId);
                if (!targets.TryGetValue(delta.EndpointId, out var target))
                {
                    target = (record, new Dictionary<ulong, ulong>(record.Policy.Mirror(record.Policy.Active)));
                    targets[delta.EndpointId] = target;
                }

                foreach (var key in delta.Deletes)
                {
                    target.Contents.Remove(PolicyCodec.Pack(PolicyCodec.EncodeKey(key)));
                }

                AddEntries(delta.EndpointId, target.Contents, delta.Upserts);
                PolicyCodec.AddMeta(target.Contents);
                CheckCapacity(delta.EndpointId, target.Contents);
            }

            _policyWriter.Apply(targets.Values.ToList());
        }
    }

    /// <summary>Replaces an endpoint's whole map state atomically.</summary>
    public void ReplacePolicy(ushort endpointId, IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> state)
    {
        var contents = Encode(endpointId, state);
        lock (_gate)
        {
            ThrowIfDisposed();
            _policyWriter.Apply([(Endpoint(endpointId), contents)]);
        }
    }

    /// <summary>
    /// Makes an endpoint's kernel policy equal <paramref name="state"/>, writing (atomically, like
    /// <see cref="ReplacePolicy"/>) only when the active map differs from it: what a restarted agent does with the
    /// state it restored, so an unchanged endpoint is not touched (no write, no policy generation change).
    /// </summary>
    /// <returns>The number of entries that differed (added, changed or removed); 0 when nothing was written.</returns>
    public int ReconcilePolicy(ushort endpointId, IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> state)
    {
        var contents = Encode(endpointId, state);
        lock (_gate)
        {
            ThrowIfDisposed();
            var record = Endpoint(endpointId);
            var active = record.Policy.Mirror(record.Policy.Active);
            var differing = contents.Count(kv => !active.TryGetValue(kv.Key, out var value) || value != kv.Value)
                + active.Keys.Count(key => !contents.ContainsKey(key));
            if (differing > 0)
            {
                _policyWriter.Apply([(record, contents)]);
            }

            return differing;
        }
    }

    /// <summary>An endpoint's policy map as the kernel holds it (the active slot), decoded and sorted.</summary>
    public IReadOnlyList<PolicyMapRow> ReadPolicy(ushort endpointId)
    {
        List<KeyValuePair<ulong, ulong>> entries;
        lock (_gate)
        {
            // Under the lock: the active slot cannot be switched (and rewritten) while it is read.
            var record = Endpoint(endpointId);
            entries = record.Policy.Slot(record.Policy.Active).Entries<ulong, ulong>();
        }

        var rows = new List<PolicyMapRow>();
        foreach (var (packedKey, packedValue) in entries)
        {
            if (PolicyCodec.IsMetaKey(packedKey))
            {
                continue;
            }

            var key = PolicyCodec.DecodeKey(PolicyCodec.UnpackKey(packedKey));
            var value = PolicyCodec.UnpackValue(packedValue);
            rows.Add(new PolicyMapRow(key, (PolicyVerdict)value.verdict, (L7Protocol)value.l7_protocol, value.proxy_port, value.cookie, _cookies.Resolve(value.cookie)));
        }

        rows.Sort((a, b) => (a.Key.Direction, a.Key.Identity, a.Key.Protocol, a.Key.Port, a.Key.PortPrefixLength)
            .CompareTo((b.Key.Direction, b.Key.Identity, b.Key.Protocol, b.Key.Port, b.Key.PortPrefixLength)));
        return rows;
    }

    /// <summary>The policies a cookie (in events and conntrack entries) names.</summary>
    public ImmutableArray<PolicyRef> ResolveCookie(uint cookie) => _cookies.Resolve(cookie);

    /// <summary>All conntrack entries (a snapshot).</summary>
    public IReadOnlyList<ConntrackEntry> ListConntrack() => _conntrack.List();

    /// <summary>Deletes expired conntrack entries (the datapath ignores them already); returns how many. Runs by itself
    /// every <see cref="DatapathOptions.ConntrackGcInterval"/>.</summary>
    public int CollectConntrackGarbage()
    {
        var deleted = _conntrack.CollectGarbage();
        Interlocked.Add(ref _conntrackCollected, deleted);
        return deleted;
    }

    /// <summary>Calls <paramref name="handler"/> for every kernel event, on the event thread (it must not block).
    /// Dispose the result to unsubscribe.</summary>
    public IDisposable SubscribeEvents(Action<DatapathEvent> handler) =>
        _events?.Subscribe(handler) ?? throw new InvalidOperationException("this datapath was opened with ConsumeEvents = false");

    /// <summary>Map fill levels, counters and features.</summary>
    public DatapathStatus GetStatus()
    {
        List<(ushort Id, int PolicyEntries)> endpoints;
        lock (_gate)
        {
            endpoints = _endpoints.Values.OrderBy(e => e.Id).Select(e => (e.Id, e.Policy.Mirror(e.Policy.Active).Count - 2)).ToList();
        }

        var (hosts, cidrs) = _ipcache.Count();
        var maps = new List<MapFill>
        {
            new(MapNames.Endpoints, endpoints.Count, SharedConstants.ENDPOINT_IFINDEX_MAX),
            new(MapNames.IpcacheHosts, hosts, SharedConstants.IPCACHE_HOSTS_MAX),
            new(MapNames.IpcacheCidrs, cidrs, SharedConstants.IPCACHE_CIDRS_MAX),
            new(MapNames.Conntrack, _conntrack.Count(), _options.ConntrackCapacity),
        };
        foreach (var (id, entries) in endpoints)
        {
            maps.Add(new MapFill($"policy (endpoint {id})", entries, SharedConstants.POLICY_MAP_MAX - 2));
        }

        var forwarded = _metrics.Read(0, TrafficDirection.Ingress).Packets + _metrics.Read(0, TrafficDirection.Egress).Packets;
        return new DatapathStatus(Features, PinRoot, endpoints.Count, maps, _metrics.ReadDrops(), forwarded,
            _metrics.ReadCounter(SharedConstants.COUNTER_PROXY_REDIRECTS),
            _metrics.ReadCounter(SharedConstants.COUNTER_POLICY_REVALIDATIONS),
            _metrics.ReadCounter(SharedConstants.COUNTER_EVENTS_LOST),
            _events?.Delivered ?? 0,
            _events?.DroppedInUserSpace ?? 0,
            Interlocked.Read(ref _conntrackCollected));
    }

    /// <summary>
    /// Removes everything of this instance from the kernel: detaches every endpoint, deletes the maps' pins and the
    /// pin directory, then disposes. Enforcement stops (interfaces without programs pass all traffic).
    /// </summary>
    public void Destroy()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            foreach (var record in _endpoints.Values.ToList())
            {
                Teardown(record, detach: true);
            }

            _endpoints.Clear();
        }

        Dispose();
        if (Directory.Exists(_paths.Root))
        {
            Directory.Delete(_paths.Root, recursive: true);
        }
    }

    /// <summary>
    /// The bpffs directory of an instance (<c>&lt;bpffsRoot&gt;/membrane/&lt;layout version&gt;/&lt;instance&gt;</c>),
    /// whether or not it exists: where tests and tools look for what an instance left behind. The layout version
    /// changes with the map definitions, so callers should not spell the path themselves.
    /// </summary>
    public static string InstancePinRoot(string instance, string bpffsRoot = "/sys/fs/bpf") => new PinPaths(bpffsRoot, instance).Root;

    /// <summary>
    /// Removes an instance's pins (maps and tcx links) from bpffs without opening it: for teardown after the owning
    /// process is gone and its interfaces are deleted. Returns false if the instance had no pins.
    /// </summary>
    public static bool RemoveInstancePins(string instance, string bpffsRoot = "/sys/fs/bpf")
    {
        var root = new PinPaths(bpffsRoot, instance).Root;
        if (!Directory.Exists(root))
        {
            return false;
        }

        Directory.Delete(root, recursive: true);
        return true;
    }

    /// <summary>Stops reading events and closes this process's handles. The datapath keeps enforcing.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _conntrackCollector?.Dispose();
        _events?.Dispose();
        foreach (var record in _endpoints.Values)
        {
            record.Policy.Dispose();
        }

        foreach (var map in _maps)
        {
            map.Dispose();
        }

        _programs.Dispose();
        _node.Dispose();
    }

    /// <summary>Runs BPF_PROG_TEST_RUN on one of the loaded programs (benchmarks).</summary>
    internal (uint ReturnValue, uint MeanNanoseconds) TestRun(bool fromContainer, ReadOnlySpan<byte> packet, int repeat, int ifindex, uint mark = 0) =>
        Libbpf.TestRun(fromContainer ? _programs.FromContainerFd : _programs.ToContainerFd, packet, repeat, ifindex, mark);

    /// <summary>File descriptor of one of the loaded programs (benchmarks: tail calls into the production program).</summary>
    internal int ProgramFd(bool fromContainer) => fromContainer ? _programs.FromContainerFd : _programs.ToContainerFd;

    /// <summary>Registers an endpoint's maps and kernel record without attaching programs (benchmarks drive the
    /// programs with BPF_PROG_TEST_RUN, which needs no interface).</summary>
    internal void AddDetachedEndpoint(ushort id, int ifindex, NumericIdentity identity, IPAddress address,
        IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> policy)
    {
        var contents = Encode(id, policy);
        lock (_gate)
        {
            var record = new EndpointRecord(id, ifindex, $"detached{id}", identity.Value, address, EndpointPolicyMaps.Create(_paths, id))
            {
                IngressRedirectHint = PolicyCodec.HasIngressRedirect(contents),
                PolicyMeta = EndpointRecord.MetaOf(contents),
            };
            PolicyMapWriter.WriteSlot(record.Policy, 0, contents);
            PolicyMapWriter.WriteSlot(record.Policy, 1, contents);
            _policyWriter.Install(record);
            _endpointTable.Write(record);
            _ipcache.UpsertEndpoint(record);
            _endpoints[id] = record;
        }
    }

    /// <summary>Ids of the programs attached to an endpoint's interface (ingress hook first).</summary>
    internal IReadOnlyList<uint> AttachedProgramIds(ushort endpointId)
    {
        EndpointRecord record;
        lock (_gate)
        {
            record = Endpoint(endpointId);
        }

        return _attacher.AttachedProgramIds(record.Ifindex, record.AttachMode);
    }

    internal BpfMap Map(string name) => _maps[Array.IndexOf(MapNames.All, name)];

    private void CollectInBackground()
    {
        try
        {
            CollectConntrackGarbage();
        }
        catch (Exception) when (_disposed)
        {
            // Closed while collecting.
        }
        catch (DatapathException)
        {
            // Retried at the next interval; the programs ignore expired entries meanwhile.
        }
    }

    private static void EnsureBpffs(string root)
    {
        var mounted = File.ReadLines("/proc/self/mounts").Any(line =>
        {
            var fields = line.Split(' ');
            return fields.Length > 2 && fields[1] == root && fields[2] == "bpf";
        });
        if (!mounted)
        {
            Directory.CreateDirectory(root);
            Libc.MountBpffs(root);
        }
    }

    private Dictionary<ulong, ulong> Encode(ushort endpointId, IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> state)
    {
        var contents = new Dictionary<ulong, ulong>();
        AddEntries(endpointId, contents, state);
        PolicyCodec.AddMeta(contents);
        CheckCapacity(endpointId, contents);
        return contents;
    }

    private void AddEntries(ushort endpointId, Dictionary<ulong, ulong> contents, IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> entries)
    {
        var seen = new Dictionary<ulong, PolicyKey>();
        foreach (var (key, entry) in entries)
        {
            try
            {
                var nativeKey = PolicyCodec.EncodeKey(key);
                var packedKey = PolicyCodec.Pack(nativeKey);
                var value = PolicyCodec.Pack(PolicyCodec.EncodeValue(key, entry, _cookies.Intern(entry.DerivedFrom), _options.ProxyPorts));
                if (seen.TryGetValue(packedKey, out var first) && contents[packedKey] != value)
                {
                    throw new ArgumentException($"keys {first.PortProtocolText} and {key.PortProtocolText} (identity {key.Identity}, {key.Direction}) name the same entry with different values");
                }

                seen[packedKey] = key;
                contents[packedKey] = value;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"endpoint {endpointId}: {e.Message}", e);
            }
        }
    }

    private static void CheckCapacity(ushort endpointId, Dictionary<ulong, ulong> contents)
    {
        if (contents.Count > SharedConstants.POLICY_MAP_MAX)
        {
            throw new ArgumentException($"endpoint {endpointId}: {contents.Count - 2} policy entries exceed the map's capacity of {SharedConstants.POLICY_MAP_MAX - 2}");
        }
    }

    private IpcacheEntry? LongestCidr(IPAddress address)
    {
        IpcacheEntry? best = null;
        foreach (var entry in _ipcache.List())
        {
            if (entry.Prefix.PrefixLength < 32 && entry.Prefix.Contains(address) && (best is null || entry.Prefix.PrefixLength > best.Prefix.PrefixLength))
            {
                best = entry;
            }
        }

        return best;
    }

    private EndpointRecord Endpoint(ushort id) =>
        _endpoints.TryGetValue(id, out var record) ? record : throw new ArgumentException($"endpoint {id} does not exist");

    private string? InterfaceName(int ifindex) => _interfaceNames.GetValueOrDefault(ifindex);

    private void WriteConfig()
    {
        var flags = 0u;
        if (_options.PolicyVerdictEvents)
        {
            flags |= (uint)SharedConstants.CONFIG_F_POLICY_VERDICT_EVENTS;
        }

        flags |= _options.TraceEvents switch
        {
            TraceEventLevel.NewFlowsAndStateChanges => (uint)SharedConstants.CONFIG_F_TRACE_EVENTS,
            TraceEventLevel.AllPackets => (uint)SharedConstants.CONFIG_F_TRACE_ALL_PACKETS,
            _ => 0u,
        };
        var timeouts = _options.ConntrackTimeouts;
        _config.Update(0u, new datapath_config
        {
            flags = flags,
            ct_lifetime_tcp = Seconds(timeouts.Tcp),
            ct_lifetime_tcp_syn = Seconds(timeouts.TcpSyn),
            ct_lifetime_tcp_close = Seconds(timeouts.TcpClose),
            ct_lifetime_other = Seconds(timeouts.Other),
        });

        static uint Seconds(TimeSpan t) => (uint)Math.Clamp(t.TotalSeconds, 0, uint.MaxValue / 2);
    }

    /// <summary>Rebuilds the in-memory view from the kernel after a restart and re-attaches with the new programs.</summary>
    private void RestoreEndpoints()
    {
        if (!Directory.Exists(_paths.EndpointsDirectory))
        {
            return;
        }

        var kernelRecords = _endpointTable.ReadActive().ToDictionary(r => r.Info.endpoint_id);
        foreach (var directory in Directory.GetDirectories(_paths.EndpointsDirectory))
        {
            if (!ushort.TryParse(Path.GetFileName(directory), out var id))
            {
                continue;
            }

            var policy = EndpointPolicyMaps.Open(_paths, id, _policyWriter.ActiveMapId(id));
            var name = kernelRecords.TryGetValue(id, out var found) ? _node.Run(() => Libc.InterfaceName(found.Ifindex)) : null;
            if (name is null)
            {
                // A half-added endpoint, or its interface went away while the agent was stopped.
                var stale = new EndpointRecord(id, found.Ifindex, "", 0, IPAddress.Any, policy);
                Teardown(stale, detach: found.Ifindex != 0, clearKernelRecord: found.Ifindex != 0);
                continue;
            }

            var info = found.Info;
            var record = new EndpointRecord(id, found.Ifindex, name, info.identity, AddressCodec.FromNetworkOrder(info.ipv4), policy)
            {
                Generation = info.policy_generation,
                PolicyMeta = (PolicyCodec.Pack(info.ingress_meta), PolicyCodec.Pack(info.egress_meta)),
                IngressRedirectHint = _ipcache.HasIngressRedirectHint(AddressCodec.FromNetworkOrder(info.ipv4)),
            };
            record.AttachMode = _attacher.Attach(id, record.Ifindex, name, _programs);
            _endpoints[id] = record;
            _interfaceNames = _interfaceNames.SetItem(record.Ifindex, name);
        }
    }

    private void Teardown(EndpointRecord record, bool detach, bool clearKernelRecord = true)
    {
        if (detach)
        {
            _attacher.Detach(record.Id, record.Ifindex, record.AttachMode == AttachMode.None ? _attacher.Probe(record.Id, record.Ifindex) : record.AttachMode);
        }

        if (clearKernelRecord && record.Ifindex != 0)
        {
            _endpointTable.Clear(record.Ifindex);
        }

        _policyWriter.Uninstall(record.Id);
        if (!record.Address.Equals(IPAddress.Any))
        {
            _ipcache.Delete(new IPNetwork(record.Address, 32));
        }

        record.Policy.Unpin(_paths);
        record.Policy.Dispose();
        _conntrack.Flush(record.Id);
        var directory = _paths.Endpoint(record.Id);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static DatapathEndpoint ToPublic(EndpointRecord r) =>
        new(r.Id, r.InterfaceName, r.Ifindex, new NumericIdentity(r.Identity), r.Address, r.AttachMode, r.Generation);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
