using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Membrane.Policy.MapState;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Listener;

/// <summary>Connections whose policy names another protocol go to the engine registered for it (the Kafka engine's seam).</summary>
public sealed class EngineDispatchTests
{
    /// <summary>A real, tiny engine: upper-cases what the client sends, relays it upstream, relays the answer back.</summary>
    private sealed class UpperCaseRelayEngine : IProtocolEngine
    {
        public ProxiedConnection? Seen { get; private set; }

        public async Task RunAsync(ProxiedConnection connection, CancellationToken cancellationToken)
        {
            Seen = connection;
            var upstream = await connection.ConnectUpstreamAsync(cancellationToken);
            var read = await connection.Client.Input.ReadAsync(cancellationToken);
            var text = Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(read.Buffer)).ToUpperInvariant();
            connection.Client.Input.AdvanceTo(read.Buffer.End);
            await upstream.Output.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
            var answer = await upstream.Input.ReadAtLeastAsync(2, cancellationToken);
            await connection.Client.Output.WriteAsync(System.Buffers.BuffersExtensions.ToArray(answer.Buffer), cancellationToken);
            upstream.Input.AdvanceTo(answer.Buffer.End);
            connection.Events.Publish(new L7Event { Kind = L7EventKind.KafkaRequest, TimestampUnixNs = 1, Connection = connection.Info, Verdict = L7Verdict.Forwarded });
        }
    }

    [Fact]
    public async Task RegisteredEngineRunsTheConnection()
    {
        using var upstreamListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        upstreamListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        upstreamListener.Listen(1);
        var upstreamSide = Task.Run(async () =>
        {
            using var s = await upstreamListener.AcceptAsync();
            var buffer = new byte[64];
            var n = await s.ReceiveAsync(buffer);
            await s.SendAsync(Encoding.ASCII.GetBytes("ok:" + Encoding.ASCII.GetString(buffer, 0, n)));
            await Task.Delay(200);
        });

        var engine = new UpperCaseRelayEngine();
        await using var proxy = await ProxyHarness.StartAsync((IPEndPoint)upstreamListener.LocalEndPoint!, new TestPolicySource(null, protocol: L7Protocol.Kafka));
        proxy.Server.RegisterEngine(L7Protocol.Kafka, engine);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(Encoding.ASCII.GetBytes("produce"));
        var reply = new byte[64];
        var got = await client.ReceiveAsync(reply).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("ok:PRODUCE", Encoding.ASCII.GetString(reply, 0, got));
        await upstreamSide;
        Assert.NotNull(engine.Seen);
        Assert.Equal(ProxyMode.Explicit, engine.Seen!.Info.Mode);
        Assert.Equal(proxy.EndPoint, engine.Seen.AdvertisedAddress);
        Assert.Equal(L7Protocol.Kafka, engine.Seen.Policy.Protocol);
        proxy.Events.WaitFor(e => e.Kind == L7EventKind.KafkaRequest);
    }

    [Fact]
    public async Task MissingEngineClosesTheConnectionWithAnEvent()
    {
        await using var proxy = await ProxyHarness.StartAsync(new IPEndPoint(IPAddress.Loopback, 9), new TestPolicySource(null, protocol: L7Protocol.Kafka));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Closed at once: an orderly close or a reset (the proxy aborts the connection), which can even beat
            // the completion of connect.
            await client.ConnectAsync(proxy.EndPoint);
            Assert.Equal(0, await client.ReceiveAsync(new byte[16]).WaitAsync(TimeSpan.FromSeconds(5)));
        }
        catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        var e = proxy.Events.WaitFor(x => x.Kind == L7EventKind.ProtocolError);
        Assert.Contains("no protocol engine registered for Kafka", e.Detail, StringComparison.Ordinal);
    }
}
