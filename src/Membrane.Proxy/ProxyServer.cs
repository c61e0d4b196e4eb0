using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Membrane.Policy.MapState;
using Membrane.Proxy.Listener;

namespace Membrane.Proxy;

/// <summary>
/// The L7 proxy host that the agent and the CLI start and stop. It owns any number of listeners, added and removed
/// at runtime: transparent ones receive connections redirected by the datapath; explicit ones forward to a fixed
/// upstream. Every connection is resolved through <see cref="IProxyPolicySource"/> and dispatched by
/// <see cref="ConnectionPolicy.Protocol"/>: HTTP/1.1 and HTTP/2 (gRPC) to the built-in engine, other protocols to an
/// engine registered with <see cref="RegisterEngine"/>, no L7 rules to a byte relay.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<L7Protocol, IProtocolEngine> _engines = new();
    private readonly List<ListenerRuntime> _listeners = [];
    private readonly Lock _gate = new();
    private volatile HashSet<IPAddress> _localAddresses = [];
    private volatile int[] _listenerPorts = [];
    private readonly ConcurrentDictionary<IPAddress, bool> _probedLocal = new();

    /// <summary>Creates a proxy with no listeners.</summary>
    /// <param name="policySource">Where each connection's policy comes from (thread-safe, non-blocking).</param>
    /// <param name="events">Where L7 events go (non-blocking).</param>
    /// <param name="options">Limits and timeouts; null for the defaults.</param>
    public ProxyServer(IProxyPolicySource policySource, IL7EventSink events, ProxyServerOptions? options = null)
    {
        PolicySource = policySource ?? throw new ArgumentNullException(nameof(policySource));
        Events = events ?? throw new ArgumentNullException(nameof(events));
        Options = options ?? new ProxyServerOptions();
        if (Options.SocketFactory is { } socketFactory)
        {
            SocketFactory = socketFactory;
        }

        Watchdog = new UpstreamWatchdog(TimeSpan.FromMilliseconds(250));
    }

    /// <summary>The policy source every connection is resolved through.</summary>
    public IProxyPolicySource PolicySource { get; }

    /// <summary>The event sink.</summary>
    public IL7EventSink Events { get; }

    /// <summary>Limits and timeouts.</summary>
    public ProxyServerOptions Options { get; }

    /// <summary>The listeners currently running.</summary>
    public IReadOnlyList<ProxyListener> Listeners
    {
        get
        {
            lock (_gate)
            {
                return [.. _listeners.Select(l => l.Descriptor)];
            }
        }
    }

    /// <summary>Registers the engine for a protocol other than HTTP (the Kafka engine), replacing any earlier one.</summary>
    public void RegisterEngine(L7Protocol protocol, IProtocolEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (protocol is L7Protocol.Http or L7Protocol.None)
        {
            throw new ArgumentException($"{protocol} is handled by the proxy itself", nameof(protocol));
        }

        _engines[protocol] = engine;
    }

    /// <summary>
    /// Adds a transparent listener on <c>0.0.0.0:<paramref name="port"/></c> with <c>IP_TRANSPARENT</c> (needs
    /// CAP_NET_ADMIN). Never bound to a specific address: the original destination is read from the accepted
    /// socket's local address, which .NET reports correctly only for a wildcard listener.
    /// </summary>
    /// <param name="port">The proxy port (agent default 15080 for HTTP, 15090 for Kafka); 0 picks a free one.</param>
    /// <param name="preserveClientAddress">Bind upstream connections to the client's address (needs the datapath's reply steering).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public Task<ProxyListener> AddTransparentListenerAsync(int port, bool preserveClientAddress = true, CancellationToken cancellationToken = default) =>
        AddAsync(new ListenerRuntime(this, ProxyMode.Transparent, new IPEndPoint(IPAddress.Any, port), null, preserveClientAddress), cancellationToken);

    /// <summary>Adds an explicit listener that forwards every connection to <paramref name="upstream"/>.</summary>
    /// <param name="listen">Where to listen (port 0 picks a free port).</param>
    /// <param name="upstream">The static upstream.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public Task<ProxyListener> AddExplicitListenerAsync(IPEndPoint listen, IPEndPoint upstream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(upstream);
        return AddAsync(new ListenerRuntime(this, ProxyMode.Explicit, listen, upstream, false), cancellationToken);
    }

    /// <summary>Stops a listener: it accepts no new connection and its open connections are closed.</summary>
    public async Task RemoveListenerAsync(ProxyListener listener)
    {
        ListenerRuntime? runtime;
        lock (_gate)
        {
            runtime = _listeners.Find(l => ReferenceEquals(l.Descriptor, listener));
            if (runtime is null)
            {
                return;
            }

            _listeners.Remove(runtime);
            RefreshOwnEndpoints();
        }

        await runtime.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops every listener.</summary>
    public async ValueTask DisposeAsync()
    {
        ListenerRuntime[] all;
        lock (_gate)
        {
            all = [.. _listeners];
            _listeners.Clear();
            RefreshOwnEndpoints();
        }

        foreach (var l in all)
        {
            await l.DisposeAsync().ConfigureAwait(false);
        }

        Watchdog.Dispose();
    }

    internal UpstreamWatchdog Watchdog { get; }

    /// <summary>Creates every socket the proxy opens (listeners and upstream connections). Tests replace it to create
    /// sockets inside a network namespace of their own; the agent runs in the node namespace and keeps the default.</summary>
    internal Func<AddressFamily, Socket> SocketFactory { get; set; } =
        family => new Socket(family, SocketType.Stream, ProtocolType.Tcp);

    internal bool TryGetEngine(L7Protocol protocol, out IProtocolEngine engine) => _engines.TryGetValue(protocol, out engine!);

    /// <summary>Loop guard: true when <paramref name="endpoint"/> is one of this proxy's listeners.</summary>
    internal bool IsOwnListenerEndpoint(IPEndPoint endpoint)
    {
        if (Array.IndexOf(_listenerPorts, endpoint.Port) < 0)
        {
            return false;
        }

        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        return IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ||
            _localAddresses.Contains(address) || _probedLocal.GetOrAdd(address, IsLocalAddress);
    }

    /// <summary>
    /// True when <paramref name="address"/> belongs to this network namespace: a plain bind (no IP_TRANSPARENT)
    /// succeeds only for local addresses. Only asked when a destination port equals a listener port.
    /// </summary>
    private bool IsLocalAddress(IPAddress address)
    {
        try
        {
            using var probe = SocketFactory(address.AddressFamily);
            probe.Bind(new IPEndPoint(address, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<ProxyListener> AddAsync(ListenerRuntime runtime, CancellationToken cancellationToken)
    {
        try
        {
            await runtime.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await runtime.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        lock (_gate)
        {
            _listeners.Add(runtime);
            RefreshOwnEndpoints();
        }

        return runtime.Descriptor;
    }

    private void RefreshOwnEndpoints()
    {
        var ports = new HashSet<int>();
        var addresses = new HashSet<IPAddress>();
        foreach (var l in _listeners)
        {
            ports.Add(l.Descriptor.LocalEndPoint.Port);
            var a = l.Descriptor.LocalEndPoint.Address;
            if (!a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any))
            {
                addresses.Add(a);
            }
        }

        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var u in nic.GetIPProperties().UnicastAddresses)
                {
                    addresses.Add(u.Address);
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Loopback and wildcard addresses are still recognised without the interface list.
        }
        catch (SocketException)
        {
        }

        _localAddresses = addresses;
        _listenerPorts = [.. ports];
    }
}
