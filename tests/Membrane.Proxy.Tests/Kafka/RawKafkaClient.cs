using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>A byte-level Kafka client for engine tests: sends exact frames, reads whole response frames.</summary>
internal sealed class RawKafkaClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    public static async Task<RawKafkaClient> ConnectAsync(IPEndPoint endPoint)
    {
        var c = new RawKafkaClient();
        await c._socket.ConnectAsync(endPoint);
        return c;
    }

    public Task SendAsync(params byte[][] frames) => _socket.SendAsync(frames.SelectMany(f => f).ToArray());

    /// <summary>The next response (payload after the size prefix), or null when the connection closed.</summary>
    public async Task<byte[]?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var prefix = new byte[4];
        if (!await ReadExactlyAsync(prefix, cts.Token))
        {
            return null;
        }

        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        return await ReadExactlyAsync(payload, cts.Token) ? payload : null;
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _socket.ReceiveAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    public static int CorrelationId(byte[] payload) => BinaryPrimitives.ReadInt32BigEndian(payload);

    public void Dispose() => _socket.Dispose();
}

/// <summary>Reads the parts of responses tests assert on (Metadata brokers and topics, ApiVersions ranges).</summary>
internal static class ResponseDecoder
{
    public sealed record Broker(int NodeId, string Host, int Port);

    public sealed record Topic(short Error, string? Name);

    public static (List<Broker> Brokers, List<Topic> Topics) Metadata(byte[] payload, short v)
    {
        var f = v >= 9;
        var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
        var arena = new KafkaByteArena();
        if (!(r.TryInt32(out _) && r.TrySkipTags(f) && (v < 3 || r.Skip(4))))
{ throw Bad(); }
        if (!(r.TryArrayLength(f, out var brokers)))
{ throw Bad(); }
        var list = new List<Broker>();
        for (var i = 0; i < brokers; i++)
        {
            if (!(r.TryInt32(out var id) && r.TryString(f, arena, out var host) && r.TryInt32(out var port)))
{ throw Bad(); }
            if (!((v < 1 || r.TrySkipString(f)) && r.TrySkipTags(f)))
{ throw Bad(); }
            list.Add(new Broker(id, Encoding.UTF8.GetString(arena[host]), port));
        }

        if (!((v < 2 || r.TrySkipString(f)) && (v < 1 || r.Skip(4))))
{ throw Bad(); }
        if (!(r.TryArrayLength(f, out var topics)))
{ throw Bad(); }
        var result = new List<Topic>();
        for (var i = 0; i < topics; i++)
        {
            if (!(r.TryInt16(out var error) && r.TryNullableString(f, arena, out var name, out var isNull)))
{ throw Bad(); }
            if (!((v < 10 || r.Skip(16)) && (v < 1 || r.Skip(1)) && r.TryArrayLength(f, out var partitions)))
{ throw Bad(); }
            for (var p = 0; p < partitions; p++)
            {
                if (!(r.Skip(10 + (v >= 7 ? 4 : 0)) && r.TrySkipFixedArray(f, 4) && r.TrySkipFixedArray(f, 4) && (v < 5 || r.TrySkipFixedArray(f, 4)) && r.TrySkipTags(f)))
{ throw Bad(); }
            }

            if (!((v < 8 || r.Skip(4)) && r.TrySkipTags(f)))
{ throw Bad(); }
            result.Add(new Topic(error, isNull ? null : Encoding.UTF8.GetString(arena[name])));
        }

        if (!((v < 8 || v > 10 || r.Skip(4)) && (v < 13 || r.Skip(2)) && r.TrySkipTags(f)))
{ throw Bad(); }
        // No end-of-frame check: librdkafka's mock appends a stray byte to flexible Metadata responses, which clients ignore.
        return (list, result);
    }

    public static (short Error, Dictionary<short, (short Min, short Max)> Apis) ApiVersions(byte[] payload, short v)
    {
        var f = v >= 3;
        var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
        if (!(r.TryInt32(out _) && r.TryInt16(out var error) && r.TryArrayLength(f, out var n)))
{ throw Bad(); }
        var apis = new Dictionary<short, (short, short)>();
        for (var i = 0; i < n; i++)
        {
            if (!(r.TryInt16(out var key) && r.TryInt16(out var min) && r.TryInt16(out var max) && r.TrySkipTags(f)))
{ throw Bad(); }
            apis[key] = (min, max);
        }

        return (error, apis);
    }

    private static InvalidDataException Bad() => new("malformed response");
}
