using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Proxy;
using Membrane.Proxy.Kafka;

namespace Membrane.Benchmarks.Kafka;

/// <summary>
/// An explicit-mode Kafka proxy for <c>bench/traffic/kafka.sh</c>:
/// <c>Membrane.Benchmarks kafka-proxy --listen 127.0.0.1:P --upstream 127.0.0.1:Q --allow TOPIC… --stats FILE</c>.
/// It runs <see cref="KafkaEngine"/> with produce and consume rules on the allowed topics and writes the number of Kafka
/// requests it has handled to the stats file every 200 ms (CPU per request = proxy CPU / requests).
/// </summary>
internal static class KafkaProxyHost
{
    public static int Run(string[] args)
    {
        IPEndPoint? listen = null, upstream = null;
        string? stats = null;
        var allowed = new List<string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--listen": listen = IPEndPoint.Parse(args[i + 1]); break;
                case "--upstream": upstream = IPEndPoint.Parse(args[i + 1]); break;
                case "--allow": allowed.Add(args[i + 1]); break;
                case "--stats": stats = args[i + 1]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        if (listen is null || upstream is null)
        {
            Console.Error.WriteLine("usage: kafka-proxy --listen ADDR:PORT --upstream ADDR:PORT [--allow TOPIC]... [--stats FILE]");
            return 2;
        }

        var origin = new PolicyRef("CiliumNetworkPolicy", "bench", "kafka-bench");
        var rules = KafkaRuleSet.Compile(allowed.SelectMany(t => new[] { new KafkaRule(Role: "produce", Topic: t), new KafkaRule(Role: "consume", Topic: t) }).Select(r => (r, origin)));
        var source = new StaticSource(rules);
        var engine = new KafkaEngine();
        var listener = new TcpListener(listen);
        listener.Start();
        Console.WriteLine($"kafka-proxy listening on {listener.LocalEndpoint} -> {upstream}");
        using var stop = new CancellationTokenSource();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        var statsTask = stats is null ? Task.CompletedTask : WriteStatsAsync(stats, source, stop.Token);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var socket = listener.AcceptSocketAsync(stop.Token).AsTask().GetAwaiter().GetResult();
                _ = Task.Run(() => ServeAsync(socket, upstream, (IPEndPoint)listener.LocalEndpoint, source, engine, stop.Token));
            }
        }
        catch (OperationCanceledException)
        {
        }

        listener.Stop();
        statsTask.Wait(TimeSpan.FromSeconds(1));
        return 0;
    }

    private static async Task WriteStatsAsync(string path, StaticSource source, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await File.WriteAllTextAsync(path + ".tmp", $"requests {Interlocked.Read(ref source.Requests)}\n", ct);
                File.Move(path + ".tmp", path, overwrite: true);
                await Task.Delay(200, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task ServeAsync(Socket socket, IPEndPoint upstream, IPEndPoint advertised, StaticSource source, KafkaEngine engine, CancellationToken ct)
    {
        socket.NoDelay = true;
        using var upstreamSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await using var clientStream = new NetworkStream(socket, ownsSocket: true);
        var info = new ConnectionInfo((IPEndPoint)socket.RemoteEndPoint!, upstream, ProxyMode.Explicit, advertised.Port);
        var connection = new ProxiedConnection
        {
            Info = info,
            PolicySource = source,
            Policy = source.Resolve(info),
            Events = source,
            Client = Pipes(clientStream),
            AdvertisedAddress = advertised,
            ConnectUpstreamAsync = async token =>
            {
                await upstreamSocket.ConnectAsync(upstream, token);
                return Pipes(new NetworkStream(upstreamSocket, ownsSocket: false));
            },
        };
        await engine.RunAsync(connection, ct);
    }

    private static IDuplexPipe Pipes(Stream s) => new DuplexPipe(
        PipeReader.Create(s, new StreamPipeReaderOptions(leaveOpen: true)),
        PipeWriter.Create(s, new StreamPipeWriterOptions(leaveOpen: true)));

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class StaticSource(KafkaRuleSet rules) : IProxyPolicySource, IL7EventSink
    {
        public long Requests;

        public long Revision => 1;

        public ConnectionPolicy Resolve(ConnectionInfo connection) => new()
        {
            Revision = 1,
            Source = new PeerInfo(1001, 0, null, null, LabelSet.Empty),
            Destination = new PeerInfo(1002, 0, null, null, LabelSet.Empty),
            DestinationPort = connection.OriginalDestination.Port,
            L4Allowed = true,
            Protocol = L7Protocol.Kafka,
            KafkaIngress = rules,
        };

        public void Publish(in L7Event e)
        {
            if (e.Kind == L7EventKind.KafkaRequest)
            {
                Interlocked.Increment(ref Requests);
            }
        }
    }
}
