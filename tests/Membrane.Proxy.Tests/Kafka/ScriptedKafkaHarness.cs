using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Membrane.Policy.L7.Kafka;
using Membrane.Proxy.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// The engine between in-memory pipes and a scripted broker that records every frame it receives and answers with
/// what the test's responder returns (null: no answer), for exact frames no real broker produces on demand (fetch
/// session ids, acks=0 answers).
/// </summary>
internal sealed class ScriptedKafkaHarness : IAsyncDisposable
{
    private readonly Pipe _clientToProxy = new();
    private readonly Pipe _proxyToClient = new();
    private readonly Pipe _proxyToBroker = new();
    private readonly Pipe _brokerToProxy = new();
    private Task _engine = Task.CompletedTask;
    private Task _broker = Task.CompletedTask;
    private Func<KafkaRequest, byte[]?> _respond = _ => null;

    public TestPolicySource Policy { get; } = new();

    public RecordingSink Events { get; } = new();

    public int BrokerRequests;

    /// <summary>Every frame the broker received, as received.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<byte[]> Received { get; } = new();

    /// <summary>Answers are written one byte per flush (every read the engine makes sees a partial frame).</summary>
    public bool Dribble { get; init; }

    public static Task<ScriptedKafkaHarness> StartAsync(Func<KafkaRequest, byte[]?> respond, KafkaRuleSet? rules = null, bool dribble = false)
    {
        var h = new ScriptedKafkaHarness { _respond = respond, Dribble = dribble };
        h.Policy.Set(rules ?? ProduceConsume("orders"));
        var endpoint = new IPEndPoint(IPAddress.Loopback, 9092);
        var info = new ConnectionInfo(endpoint, endpoint, ProxyMode.Transparent, 15090);
        var connection = new ProxiedConnection
        {
            Info = info,
            PolicySource = h.Policy,
            Policy = h.Policy.Resolve(info),
            Events = h.Events,
            Client = new DuplexPipe(h._clientToProxy.Reader, h._proxyToClient.Writer),
            ConnectUpstreamAsync = _ => ValueTask.FromResult<IDuplexPipe>(new DuplexPipe(h._brokerToProxy.Reader, h._proxyToBroker.Writer)),
        };
        h._engine = new KafkaEngine().RunAsync(connection, CancellationToken.None);
        h._broker = h.BrokerAsync();
        return Task.FromResult(h);
    }

    private async Task BrokerAsync()
    {
        var q = new KafkaRequest();
        while (true)
        {
            var r = await _proxyToBroker.Reader.ReadAsync();
            var buffer = r.Buffer;
            while (KafkaRequestParser.Parse(buffer, q, 1 << 20, out var length, out _) == KafkaParseStatus.Complete)
            {
                Interlocked.Increment(ref BrokerRequests);
                Received.Enqueue(buffer.Slice(0, length).ToArray());
                if (_respond(q) is { } response)
                {
                    if (!Dribble)
                    {
                        await _brokerToProxy.Writer.WriteAsync(response);
                    }

                    for (var i = 0; Dribble && i < response.Length; i++)
                    {
                        await _brokerToProxy.Writer.WriteAsync(response.AsMemory(i, 1));
                        await Task.Yield();
                    }
                }

                buffer = buffer.Slice(length);
            }

            _proxyToBroker.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (r.IsCompleted || r.IsCanceled)
            {
                return;
            }
        }
    }

    public async Task<byte[]> RoundTripAsync(byte[] request)
    {
        await _clientToProxy.Writer.WriteAsync(request);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var r = await _proxyToClient.Reader.ReadAsync(cts.Token);
            if (KafkaRequestParser.TryFrame(r.Buffer, int.MaxValue, out var payload, out var length, out _) == KafkaParseStatus.Complete)
            {
                var bytes = r.Buffer.Slice(0, length).ToArray();
                _proxyToClient.Reader.AdvanceTo(r.Buffer.GetPosition(length));
                return bytes;
            }

            _proxyToClient.Reader.AdvanceTo(r.Buffer.Start, r.Buffer.End);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _clientToProxy.Writer.CompleteAsync();
        await _engine.WaitAsync(TimeSpan.FromSeconds(10));
        _proxyToBroker.Reader.CancelPendingRead();
        await _broker.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
