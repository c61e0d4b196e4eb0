using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Membrane.Policy.MapState;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Membrane.Proxy.Listener;

/// <summary>
/// One listener: a Kestrel server of its own (so listeners come and go at runtime) whose connection middleware
/// resolves the connection's policy and dispatches it: closed (L3/L4 deny, loop), a registered protocol engine
/// (Kafka), a byte relay (no L7 rules), or Kestrel's HTTP/1.1 or HTTP/2 pipeline into <see cref="HttpProxyApplication"/>.
/// </summary>
internal sealed class ListenerRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConnectionInfo> _connections = new(StringComparer.Ordinal);
    private readonly IPEndPoint? _upstream;
    private KestrelServer? _kestrel;
    private ListenOptions? _listenOptions;

    public ListenerRuntime(ProxyServer server, ProxyMode mode, IPEndPoint listen, IPEndPoint? upstream, bool preserveClientAddress)
    {
        Server = server;
        _upstream = upstream;
        PreserveClientAddress = preserveClientAddress;
        Descriptor = new ProxyListener(mode, listen, upstream);
        Http2Routes = new Http2Routes(this, new Membrane.Proxy.Http2.Http2Limits());
    }

    public ProxyServer Server { get; }

    public ProxyListener Descriptor { get; }

    /// <summary>Transparent mode: bind upstream sockets to the client's address.</summary>
    public bool PreserveClientAddress { get; }

    /// <summary>The HTTP/2 routes (client connections and their shared upstream connections) of this listener.</summary>
    public Http2Routes Http2Routes { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = Server.Options;
        var loggerFactory = new KestrelEventLoggerFactory(OnKestrelBadRequest);
        var kestrelOptions = new KestrelServerOptions
        {
            AddServerHeader = false,
            AllowAlternateSchemes = true,
            ApplicationServices = new ServiceCollection().AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(loggerFactory).BuildServiceProvider(),
        };
        kestrelOptions.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
        kestrelOptions.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
        kestrelOptions.Limits.MaxRequestBodySize = null;
        kestrelOptions.Limits.MinRequestBodyDataRate = new MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
        kestrelOptions.Listen(Descriptor.LocalEndPoint, lo =>
        {
            _listenOptions = lo;
            // HTTP/2 connections are served by the proxy's own engine (Http2ClientSession), never by Kestrel.
            lo.Protocols = HttpProtocols.Http1;
            lo.Use(next => context => OnConnectionAsync(context, next));
        });

        var transparent = Descriptor.Mode == ProxyMode.Transparent;
        var transportOptions = new SocketTransportOptions
        {
            UnsafePreferInlineScheduling = options.InlineScheduling,
            WaitForDataBeforeAllocatingBuffer = !options.InlineScheduling,
            Backlog = 1024,
            CreateBoundListenSocket = endpoint => CreateListenSocket(endpoint, transparent),
        };
        var transport = new SocketTransportFactory(Options.Create(transportOptions), loggerFactory);
        _kestrel = new KestrelServer(Options.Create(kestrelOptions), transport, loggerFactory);
        await _kestrel.StartAsync(new HttpProxyApplication(), cancellationToken).ConfigureAwait(false);
        Descriptor.LocalEndPoint = (IPEndPoint)_listenOptions!.EndPoint;
    }

    public async ValueTask DisposeAsync()
    {
        if (_kestrel is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _kestrel.StopAsync(cts.Token).ConfigureAwait(false);
            _kestrel.Dispose();
        }

        Http2Routes.CloseAll();
    }

    private Socket CreateListenSocket(EndPoint endpoint, bool transparent)
    {
        var ip = (IPEndPoint)endpoint;
        var socket = Server.SocketFactory(ip.AddressFamily);
        try
        {
            if (transparent)
            {
                // Before bind (datapath-facts §4a): without IP_TRANSPARENT the SYN-ACK of a redirected connection
                // has no route and the kernel drops it.
                SocketOptions.SetTransparent(socket);
            }
            else
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(ip);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private ConnectionInfo DescribeConnection(ConnectionContext context)
    {
        var client = context.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        var local = context.LocalEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        if (Descriptor.Mode == ProxyMode.Transparent)
        {
            // The listener is bound to 0.0.0.0, so LocalEndPoint is the accepted socket's getsockname(): the
            // original destination (datapath-facts §4f, the .NET LocalEndPoint pitfall).
            return new ConnectionInfo(Normalize(client), Normalize(local), ProxyMode.Transparent, Descriptor.LocalEndPoint.Port);
        }

        return new ConnectionInfo(Normalize(client), _upstream!, ProxyMode.Explicit, Descriptor.LocalEndPoint.Port);
    }

    private static IPEndPoint Normalize(IPEndPoint e) =>
        e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;

    private async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var info = DescribeConnection(context);
        var events = Server.Events;
        if (info.Mode == ProxyMode.Transparent && Server.IsOwnListenerEndpoint(info.OriginalDestination))
        {
            events.Publish(EventFactory.ProtocolError(info, null, $"connection to the proxy's own listener {info.OriginalDestination} refused (loop guard)"));
            context.Abort();
            return;
        }

        ConnectionPolicy policy;
        try
        {
            policy = Server.PolicySource.Resolve(info);
        }
        catch (Exception e)
        {
            // Fail closed: no policy, no traffic.
            events.Publish(EventFactory.ProtocolError(info, null, $"policy could not be resolved: {e.Message}"));
            context.Abort();
            return;
        }

        if (!policy.L4Allowed)
        {
            events.Publish(EventFactory.ConnectionDenied(info, policy));
            context.Abort();
            return;
        }

        switch (policy.Protocol)
        {
            case L7Protocol.Http:
                await RunHttpAsync(context, next, info, policy).ConfigureAwait(false);
                break;
            case L7Protocol.None:
                await RunRelayAsync(context, info, policy).ConfigureAwait(false);
                break;
            default:
                await RunEngineAsync(context, info, policy).ConfigureAwait(false);
                break;
        }
    }

    private async Task RunHttpAsync(ConnectionContext context, ConnectionDelegate next, ConnectionInfo info, ConnectionPolicy policy)
    {
        var http2 = await PrefaceSniffer.IsHttp2Async(context.Transport.Input, Server.Options.RequestHeadersTimeout, context.ConnectionClosed).ConfigureAwait(false);
        using var connection = new ClientConnection(this, info, policy);
        if (http2)
        {
            await Http2ClientSession.RunAsync(this, context, connection).ConfigureAwait(false);
            return;
        }

        context.Features.Set(connection);
        _connections[context.ConnectionId] = info;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(context.ConnectionId, out _);
        }
    }

    private async Task RunRelayAsync(ConnectionContext context, ConnectionInfo info, ConnectionPolicy policy)
    {
        SocketDuplexPipe upstream;
        try
        {
            upstream = new SocketDuplexPipe(await UpstreamConnector.ConnectAsync(this, info, policy.Source.Identity, context.ConnectionClosed).ConfigureAwait(false));
        }
        catch (Exception e) when (e is UpstreamConnectException or OperationCanceledException)
        {
            Server.Events.Publish(EventFactory.ProtocolError(info, policy, e.Message));
            context.Abort();
            return;
        }

        await using (upstream.ConfigureAwait(false))
        {
            await ByteRelay.RunAsync(context.Transport, upstream, context.ConnectionClosed).ConfigureAwait(false);
        }
    }

    private async Task RunEngineAsync(ConnectionContext context, ConnectionInfo info, ConnectionPolicy policy)
    {
        if (!Server.TryGetEngine(policy.Protocol, out var engine))
        {
            Server.Events.Publish(EventFactory.ProtocolError(info, policy, $"no protocol engine registered for {policy.Protocol}"));
            context.Abort();
            return;
        }

        var upstreams = new List<SocketDuplexPipe>();
        var proxied = new ProxiedConnection
        {
            Info = info,
            PolicySource = Server.PolicySource,
            Policy = policy,
            Events = Server.Events,
            Client = context.Transport,
            AdvertisedAddress = info.Mode == ProxyMode.Explicit ? Descriptor.LocalEndPoint : null,
            ConnectUpstreamAsync = async ct =>
            {
                var pipe = new SocketDuplexPipe(await UpstreamConnector.ConnectAsync(this, info, policy.Source.Identity, ct).ConfigureAwait(false));
                upstreams.Add(pipe);
                return pipe;
            },
        };
        try
        {
            await engine.RunAsync(proxied, context.ConnectionClosed).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Server.Events.Publish(EventFactory.ProtocolError(info, policy, $"{policy.Protocol} engine failed: {e.Message}"));
        }
        finally
        {
            foreach (var u in upstreams)
            {
                await u.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void OnKestrelBadRequest(string connectionId, string message)
    {
        if (_connections.TryGetValue(connectionId, out var info))
        {
            Server.Events.Publish(EventFactory.ProtocolError(info, null, message, "HTTP/1.1"));
        }
    }
}
