using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace Membrane.Workloads.Kafka;

/// <summary>One request the mock cluster received (request tracking).</summary>
/// <param name="BrokerId">The broker that received it.</param>
/// <param name="ApiKey">Kafka API key.</param>
/// <param name="TimestampMicros">When it arrived (librdkafka's monotonic clock, µs).</param>
public sealed record KafkaMockRequest(int BrokerId, short ApiKey, long TimestampMicros);

/// <summary>
/// librdkafka's mock cluster: a real Kafka-protocol broker (produce, fetch, consumer groups, transactions) listening
/// on 127.0.0.1, used as the Kafka workload in the lab and as the broker in tests. Topics are created on demand (by
/// <see cref="CreateTopic"/> or by clients' auto-creation), advertised addresses can point clients at a proxy, and
/// request tracking shows which requests reached the broker.
/// </summary>
public sealed class KafkaMockCluster : IDisposable
{
    private const int RdKafkaProducer = 0;
    private readonly IntPtr _handle;
    private readonly IntPtr _cluster;
    private readonly object _gate = new();
    private bool _disposed;

    private KafkaMockCluster(IntPtr handle, IntPtr cluster, int brokerCount)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        Bootstraps = Marshal.PtrToStringUTF8(RdKafkaMockNative.ClusterBootstraps(cluster)) ?? "";
        BrokerEndPoints = [.. Bootstraps.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPEndPoint.Parse)];
    }

    /// <summary>Number of brokers (ids 1..N).</summary>
    public int BrokerCount { get; }

    /// <summary>The cluster's bootstrap list (<c>127.0.0.1:port,…</c>).</summary>
    public string Bootstraps { get; }

    /// <summary>Where each broker listens, broker id i+1 at index i.</summary>
    public IReadOnlyList<IPEndPoint> BrokerEndPoints { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokerCount"/> brokers.</summary>
    public static KafkaMockCluster Start(int brokerCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var error = new byte[512];
        var conf = RdKafkaMockNative.ConfNew();
        Set(conf, "log_level", "3", error);
        Set(conf, "client.id", "membrane-kafka-mock", error);
        var handle = RdKafkaMockNative.New(RdKafkaProducer, conf, error, (nuint)error.Length);
        if (handle == IntPtr.Zero)
        {
            throw new InvalidOperationException($"rd_kafka_new: {ErrorText(error)}");
        }

        var cluster = RdKafkaMockNative.ClusterNew(handle, brokerCount);
        if (cluster == IntPtr.Zero)
        {
            RdKafkaMockNative.Destroy(handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }

        return new KafkaMockCluster(handle, cluster, brokerCount);
    }

    /// <summary>Creates a topic (an error if it exists with other settings).</summary>
    public void CreateTopic(string name, int partitions = 1)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var err = RdKafkaMockNative.TopicCreate(_cluster, name, partitions, 1);
            if (err != 0)
            {
                throw new InvalidOperationException($"rd_kafka_mock_topic_create {name}: error {err}");
            }
        }
    }

    /// <summary>Makes Metadata and FindCoordinator answers advertise <paramref name="host"/>:<paramref name="port"/>
    /// for broker <paramref name="brokerId"/> (e.g. a relay or a proxy in front of it).</summary>
    public void SetAdvertisedAddress(int brokerId, string host, int port)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RdKafkaMockNative.BrokerSetHostPort(_cluster, brokerId, host, port);
        }
    }

    /// <summary>Limits the versions the mock advertises for one API (-1, -1 disables it).</summary>
    public void SetApiVersion(short apiKey, short minVersion, short maxVersion)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RdKafkaMockNative.SetApiVersion(_cluster, apiKey, minVersion, maxVersion);
        }
    }

    /// <summary>Makes the next requests of <paramref name="apiKey"/> fail with <paramref name="errors"/>, one error per
    /// request in order (0 = succeed).</summary>
    public void PushRequestErrors(short apiKey, params int[] errors)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RdKafkaMockNative.PushRequestErrorsArray(_cluster, apiKey, (nuint)errors.Length, errors);
        }
    }

    /// <summary>Starts recording every request the brokers receive.</summary>
    public void StartRequestTracking()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RdKafkaMockNative.StartRequestTracking(_cluster);
        }
    }

    /// <summary>Forgets the requests recorded so far.</summary>
    public void ClearRequests()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RdKafkaMockNative.ClearRequests(_cluster);
        }
    }

    /// <summary>The requests recorded since tracking started (or the last <see cref="ClearRequests"/>).</summary>
    public IReadOnlyList<KafkaMockRequest> Requests()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var array = RdKafkaMockNative.GetRequests(_cluster, out var count);
            var list = new List<KafkaMockRequest>((int)count);
            if (array == IntPtr.Zero)
            {
                return list;
            }

            for (var i = 0; i < (int)count; i++)
            {
                var r = Marshal.ReadIntPtr(array, i * IntPtr.Size);
                list.Add(new KafkaMockRequest(RdKafkaMockNative.RequestBrokerId(r), RdKafkaMockNative.RequestApiKey(r), RdKafkaMockNative.RequestTimestamp(r)));
            }

            RdKafkaMockNative.RequestDestroyArray(array, count);
            return list;
        }
    }

    /// <summary>Stops the brokers and frees the cluster.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            RdKafkaMockNative.ClusterDestroy(_cluster);
            RdKafkaMockNative.Destroy(_handle);
        }
    }

    private static void Set(IntPtr conf, string name, string value, byte[] error)
    {
        if (RdKafkaMockNative.ConfSet(conf, name, value, error, (nuint)error.Length) != 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set {name}: {ErrorText(error)}");
        }
    }

    private static string ErrorText(byte[] error)
    {
        var end = Array.IndexOf(error, (byte)0);
        return Encoding.UTF8.GetString(error, 0, end < 0 ? error.Length : end);
    }
}
