using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Proxy;
using Membrane.Proxy.Kafka;

namespace Membrane.Benchmarks.Kafka;

/// <summary>
/// The engine's per-request cost without sockets: a Produce v9 (1 KiB batch) round trip client → engine → in-memory
/// broker → engine → client, against the same round trip through a plain pipe relay (the baseline: what any proxy
/// pays to move the bytes). The ratio is the engine's parsing, policy, in-flight bookkeeping and events.
/// Denied: a Produce to a denied topic answered by the engine itself.
/// </summary>
[MemoryDiagnoser]
public class KafkaEngineBenchmarks
{
    private const int Batch = 256;
    private readonly byte[] _allowed = Frames.Produce("orders", 1024);
    private readonly byte[] _denied = Frames.Produce("secrets", 1024);
    private Harness _engine = null!;
    private Harness _relay = null!;

    [GlobalSetup]
    public void Setup()
    {
        _engine = Harness.Start(useEngine: true);
        _relay = Harness.Start(useEngine: false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _relay.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public Task RelayProduceRoundTrip() => _relay.RoundTripsAsync(_allowed, Batch);

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task EngineProduceRoundTrip() => _engine.RoundTripsAsync(_allowed, Batch);

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task EngineDeniedProduce() => _engine.RoundTripsAsync(_denied, Batch);

    private sealed class Harness : IDisposable, IL7EventSink, IProxyPolicySource
    {
        private readonly Pipe _clientToProxy = new(new PipeOptions(useSynchronizationContext: false));
        private readonly Pipe _proxyToClient = new(new PipeOptions(useSynchronizationContext: false));
        private readonly Pipe _proxyToBroker = new(new PipeOptions(useSynchronizationContext: false));
        private readonly Pipe _brokerToProxy = new(new PipeOptions(useSynchronizationContext: false));
        private readonly CancellationTokenSource _stop = new();
        private readonly ConnectionPolicy _policy;
        private Task _proxy = Task.CompletedTask;
        private Task _broker = Task.CompletedTask;

        private Harness()
        {
            var origin = new PolicyRef("CiliumNetworkPolicy", "kafka", "bench");
            _policy = new ConnectionPolicy
            {
                Revision = 1,
                Source = new PeerInfo(1001, 0, null, null, LabelSet.Empty),
                Destination = new PeerInfo(1002, 0, null, null, LabelSet.Empty),
                DestinationPort = 9092,
                L4Allowed = true,
                Protocol = L7Protocol.Kafka,
                KafkaIngress = KafkaRuleSet.Compile([(new KafkaRule(Role: "produce", Topic: "orders"), origin)]),
            };
        }

        public long Revision => 1;

        public ConnectionPolicy Resolve(ConnectionInfo connection) => _policy;

        public void Publish(in L7Event e)
        {
        }

        public static Harness Start(bool useEngine)
        {
            var h = new Harness();
            var client = new DuplexPipe(h._clientToProxy.Reader, h._proxyToClient.Writer);
            var upstream = new DuplexPipe(h._brokerToProxy.Reader, h._proxyToBroker.Writer);
            if (useEngine)
            {
                var endpoint = new IPEndPoint(IPAddress.Loopback, 9092);
                var connection = new ProxiedConnection
                {
                    Info = new ConnectionInfo(endpoint, endpoint, ProxyMode.Explicit, 9092),
                    PolicySource = h,
                    Policy = h._policy,
                    Events = h,
                    Client = client,
                    ConnectUpstreamAsync = _ => ValueTask.FromResult<IDuplexPipe>(upstream),
                };
                h._proxy = new KafkaEngine().RunAsync(connection, h._stop.Token);
            }
            else
            {
                h._proxy = Task.WhenAll(CopyAsync(client.Input, upstream.Output), CopyAsync(upstream.Input, client.Output));
            }

            h._broker = h.BrokerAsync();
            return h;
        }

        private static async Task CopyAsync(PipeReader from, PipeWriter to)
        {
            while (true)
            {
                var r = await from.ReadAsync();
                foreach (var s in r.Buffer)
                {
                    to.Write(s.Span);
                }

                from.AdvanceTo(r.Buffer.End);
                await to.FlushAsync();
                if (r.IsCompleted || r.IsCanceled)
                {
                    return;
                }
            }
        }

        /// <summary>Answers every Produce with a minimal v9 response carrying its correlation id.</summary>
        private async Task BrokerAsync()
        {
            var reader = _proxyToBroker.Reader;
            var writer = _brokerToProxy.Writer;
            var response = new byte[] { 0, 0, 0, 0x13, 0, 0, 0, 0, 0, 2, 7, (byte)'o', (byte)'r', (byte)'d', (byte)'e', (byte)'r', (byte)'s', 1, 0, 0, 0, 0, 0 };
            response[3] = (byte)(response.Length - 4);
            while (!_stop.IsCancellationRequested)
            {
                var r = await reader.ReadAsync();
                var buffer = r.Buffer;
                while (KafkaRequestParser.TryFrame(buffer, int.MaxValue, out var payload, out var length, out _) == KafkaParseStatus.Complete)
                {
                    BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(4), CorrelationId(payload));
                    writer.Write(response);
                    buffer = buffer.Slice(length);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                await writer.FlushAsync();
                if (r.IsCompleted)
                {
                    return;
                }
            }
        }

        private static int CorrelationId(in ReadOnlySequence<byte> payload)
        {
            Span<byte> head = stackalloc byte[8];
            payload.Slice(0, 8).CopyTo(head);
            return BinaryPrimitives.ReadInt32BigEndian(head[4..]);
        }

        public async Task RoundTripsAsync(byte[] request, int count)
        {
            var writer = _clientToProxy.Writer;
            var reader = _proxyToClient.Reader;
            for (var i = 0; i < count; i++)
            {
                writer.Write(request);
                await writer.FlushAsync();
                while (true)
                {
                    var r = await reader.ReadAsync();
                    if (KafkaRequestParser.TryFrame(r.Buffer, int.MaxValue, out _, out var length, out _) == KafkaParseStatus.Complete)
                    {
                        reader.AdvanceTo(r.Buffer.GetPosition(length));
                        break;
                    }

                    reader.AdvanceTo(r.Buffer.Start, r.Buffer.End);
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _clientToProxy.Writer.Complete();
            _brokerToProxy.Writer.Complete();
            _proxyToBroker.Reader.CancelPendingRead();
        }

        private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
        {
            public PipeReader Input { get; } = input;

            public PipeWriter Output { get; } = output;
        }
    }
}
