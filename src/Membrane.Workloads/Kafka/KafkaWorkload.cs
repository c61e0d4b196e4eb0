using System.Net;
using System.Net.Sockets;

namespace Membrane.Workloads.Kafka;

/// <summary>
/// The lab's Kafka broker: a <see cref="KafkaMockCluster"/> (one broker, bound to 127.0.0.1 by librdkafka) reachable on
/// any address through an in-process TCP relay, and advertising that address in Metadata and FindCoordinator answers so
/// clients reconnect through it. Topics can be created up front; clients may also create them by auto-creation.
/// </summary>
public sealed class KafkaWorkload : IAsyncDisposable
{
    private readonly KafkaMockCluster _cluster;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly List<Task> _relays = [];

    private KafkaWorkload(KafkaMockCluster cluster, TcpListener listener)
    {
        _cluster = cluster;
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndpoint;
        _accept = AcceptAsync();
    }

    /// <summary>Where clients connect (and what the broker advertises).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The mock cluster behind the relay (request tracking, topic creation).</summary>
    public KafkaMockCluster Cluster => _cluster;

    /// <summary>Starts the broker on <paramref name="listen"/> (port 0 picks a free port) with <paramref name="topics"/>
    /// (name and partition count) created. It advertises <paramref name="advertise"/> when given (e.g. a TCP proxy in
    /// front of it), else its own listen address.</summary>
    public static KafkaWorkload Start(IPEndPoint listen, IEnumerable<(string Name, int Partitions)>? topics = null, IPEndPoint? advertise = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var cluster = KafkaMockCluster.Start();
        TcpListener? listener = null;
        try
        {
            listener = new TcpListener(listen);
            listener.Start();
            var bound = (IPEndPoint)listener.LocalEndpoint;
            var advertised = advertise ?? bound;
            cluster.SetAdvertisedAddress(1, advertised.Address.ToString(), advertised.Port);
            foreach (var (name, partitions) in topics ?? [])
            {
                cluster.CreateTopic(name, partitions);
            }

            return new KafkaWorkload(cluster, listener);
        }
        catch
        {
            listener?.Stop();
            cluster.Dispose();
            throw;
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                lock (_relays)
                {
                    _relays.RemoveAll(t => t.IsCompleted);
                    _relays.Add(RelayAsync(client));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (client)
        {
            client.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(_cluster.BrokerEndPoints[0], _stop.Token).ConfigureAwait(false);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);
                var up = a.CopyToAsync(b, _stop.Token);
                var down = b.CopyToAsync(a, _stop.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Stops accepting, closes relayed connections and the mock cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accept.ConfigureAwait(false);
        Task[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }

        await Task.WhenAll(relays).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _cluster.Dispose();
        _stop.Dispose();
    }
}
