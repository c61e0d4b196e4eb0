using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Membrane.Proxy.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// KIP-227 fetch sessions against a scripted broker that hands out session ids (librdkafka's mock does not): an
/// incremental fetch is forwarded only for a session whose full fetch was allowed on this connection under the current
/// policy revision.
/// </summary>
public sealed class FetchSessionTests
{
    private const int SessionId = 99;

    private static byte[] Fetch(int correlationId, int sessionId, int epoch, params TopicSpec[] topics)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(KafkaApis.Fetch);
        w.Int16(7);
        w.Int32(correlationId);
        w.String(false, "java-like"u8);
        w.Int32(-1);
        w.Int32(500);
        w.Int32(1);
        w.Int32(1 << 20);
        w.Int8(0);
        w.Int32(sessionId);
        w.Int32(epoch);
        w.Int32(topics.Length);
        foreach (var t in topics)
        {
            w.String(false, System.Text.Encoding.UTF8.GetBytes(t.Name));
            w.Int32(t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                w.Int32(p);
                w.Int64(0);
                w.Int64(-1);
                w.Int32(1 << 20);
            }
        }

        w.Int32(0);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Fetch v7 response: throttle, error 0, session id, no topics.</summary>
    private static byte[] FetchResponse(int correlationId)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int32(correlationId);
        w.Int32(0);
        w.Int16(0);
        w.Int32(SessionId);
        w.Int32(0);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task IncrementalFetchesNeedASessionAllowedUnderTheCurrentRevision()
    {
        await using var h = await Harness.StartAsync();
        var errors = new List<short>();

        async Task<short> RoundTrip(byte[] request)
        {
            var response = await h.RoundTripAsync(request);
            return System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(12)); // size, correlation id, throttle
        }

        errors.Add(await RoundTrip(Fetch(1, 0, 0, new TopicSpec("orders", 0)))); // full fetch, creates the session
        errors.Add(await RoundTrip(Fetch(2, SessionId, 1))); // incremental, nothing changed: forwarded
        errors.Add(await RoundTrip(Fetch(3, 12345, 1))); // someone else's session: reset
        h.Policy.Set(ProduceConsume("orders", "audit"));
        errors.Add(await RoundTrip(Fetch(4, SessionId, 2))); // policy moved: reset
        errors.Add(await RoundTrip(Fetch(5, 0, 0, new TopicSpec("orders", 0)))); // full fetch again
        errors.Add(await RoundTrip(Fetch(6, SessionId, 1))); // forwarded

        Assert.Equal([0, 0, KafkaErrors.FetchSessionIdNotFound, KafkaErrors.FetchSessionIdNotFound, 0, 0], errors);
        Assert.Equal(4, h.BrokerRequests);
    }

    private sealed class Harness : IAsyncDisposable
    {
        private readonly Pipe _clientToProxy = new();
        private readonly Pipe _proxyToClient = new();
        private readonly Pipe _proxyToBroker = new();
        private readonly Pipe _brokerToProxy = new();
        private Task _engine = Task.CompletedTask;
        private Task _broker = Task.CompletedTask;

        public TestPolicySource Policy { get; } = new();

        public RecordingSink Events { get; } = new();

        public int BrokerRequests;

        public static Task<Harness> StartAsync()
        {
            var h = new Harness();
            h.Policy.Set(ProduceConsume("orders"));
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
                    await _brokerToProxy.Writer.WriteAsync(FetchResponse(q.CorrelationId));
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
}
