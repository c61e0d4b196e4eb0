using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>Policy source whose rule sets and revision a test can change while connections are open.</summary>
internal sealed class TestPolicySource : IProxyPolicySource
{
    private static readonly PeerInfo Client = new(1001, 0, "default", "client", LabelSet.Empty);
    private static readonly PeerInfo Broker = new(1002, 0, "kafka", "broker", LabelSet.Empty);
    private long _revision = 1;

    public KafkaRuleSet? Ingress { get; private set; }

    public KafkaRuleSet? Egress { get; private set; }

    public long Revision => Interlocked.Read(ref _revision);

    public bool L4Allowed { get; private set; } = true;

    public void DenyConnections()
    {
        L4Allowed = false;
        Interlocked.Increment(ref _revision);
    }

    public void Set(KafkaRuleSet? ingress, KafkaRuleSet? egress = null)
    {
        Ingress = ingress;
        Egress = egress;
        Interlocked.Increment(ref _revision);
    }

    public ConnectionPolicy Resolve(ConnectionInfo connection) => new()
    {
        Revision = Revision,
        Source = Client,
        Destination = Broker,
        DestinationPort = connection.OriginalDestination.Port,
        L4Allowed = L4Allowed,
        Protocol = L7Protocol.Kafka,
        KafkaIngress = Ingress,
        KafkaEgress = Egress,
    };
}

/// <summary>Keeps every event the engine publishes.</summary>
internal sealed class RecordingSink : IL7EventSink
{
    public ConcurrentQueue<L7Event> Events { get; } = new();

    public void Publish(in L7Event e) => Events.Enqueue(e);

    public string Dump() => string.Join('\n', Events.Select(e =>
        $"{e.Kind} {e.Verdict} key={e.KafkaApiKey} v={e.KafkaApiVersion} corr={e.KafkaCorrelationId} client={e.KafkaClientId} topics=[{string.Join(',', e.KafkaTopics ?? [])}] err={e.KafkaErrorCode} {e.Detail}"));

    public IEnumerable<L7Event> Requests(short apiKey) => Events.Where(e => e.Kind == L7EventKind.KafkaRequest && e.KafkaApiKey == apiKey);
}

/// <summary>
/// A minimal explicit-mode listener for tests: accepts on 127.0.0.1:0, connects each client to the broker, and runs
/// <see cref="KafkaEngine"/> with the test's policy; advertises itself so clients never bypass it.
/// </summary>
internal sealed class KafkaTestProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly KafkaEngine _engine;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accept;
    private readonly bool _advertise;

    private KafkaTestProxy(IPEndPoint upstream, bool advertise, KafkaEngineOptions? options)
    {
        _upstream = upstream;
        _advertise = advertise;
        _engine = new KafkaEngine(options);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        _accept = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    public string Bootstrap => $"127.0.0.1:{EndPoint.Port}";

    public TestPolicySource Policy { get; } = new();

    public RecordingSink Events { get; } = new();

    public int Accepted;

    public static KafkaTestProxy Start(IPEndPoint upstream, KafkaRuleSet? ingress, KafkaRuleSet? egress = null, bool advertise = true, KafkaEngineOptions? options = null)
    {
        var proxy = new KafkaTestProxy(upstream, advertise, options);
        proxy.Policy.Set(ingress, egress);
        return proxy;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref Accepted);
                _connections.Add(Task.Run(() => RunConnectionAsync(socket)));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RunConnectionAsync(Socket socket)
    {
        socket.NoDelay = true;
        Socket? upstreamSocket = null;
        await using var clientStream = new NetworkStream(socket, ownsSocket: true);
        var info = new ConnectionInfo((IPEndPoint)socket.RemoteEndPoint!, _upstream, ProxyMode.Explicit, EndPoint.Port);
        var connection = new ProxiedConnection
        {
            Info = info,
            PolicySource = Policy,
            Policy = Policy.Resolve(info),
            Events = Events,
            Client = new StreamDuplexPipe(clientStream),
            AdvertisedAddress = _advertise ? EndPoint : null,
            ConnectUpstreamAsync = async ct =>
            {
                upstreamSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await upstreamSocket.ConnectAsync(_upstream, ct);
                return new StreamDuplexPipe(new NetworkStream(upstreamSocket, ownsSocket: false));
            },
        };
        try
        {
            await _engine.RunAsync(connection, _stop.Token);
        }
        finally
        {
            upstreamSocket?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accept;
        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private sealed class StreamDuplexPipe(Stream stream) : IDuplexPipe
    {
        public PipeReader Input { get; } = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));

        public PipeWriter Output { get; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }
}
