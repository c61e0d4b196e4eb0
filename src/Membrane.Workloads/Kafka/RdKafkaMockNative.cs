using System.Reflection;
using System.Runtime.InteropServices;

namespace Membrane.Workloads.Kafka;

/// <summary>
/// The few librdkafka entry points the mock cluster needs (<c>rdkafka_mock.h</c>, librdkafka 2.16). They are bound to
/// the SASL-less <c>centos8-librdkafka.so</c> from the <c>librdkafka.redist</c> package: the plain build needs
/// <c>libsasl2.so.3</c>, which Debian 12 lacks, and Debian's own librdkafka 2.0.2 has no request tracking or
/// advertised host/port (protocol-facts §2, §4).
/// </summary>
internal static partial class RdKafkaMockNative
{
    private const string Library = "membrane-rdkafka-mock";

    /// <summary>Environment variable that overrides the library path.</summary>
    public const string PathVariable = "MEMBRANE_RDKAFKA_MOCK_LIB";

    static RdKafkaMockNative() => NativeLibrary.SetDllImportResolver(typeof(RdKafkaMockNative).Assembly, Resolve);

    /// <summary>Where the library is loaded from.</summary>
    public static string LibraryPath
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable(PathVariable);
            if (!string.IsNullOrEmpty(overridden))
            {
                return overridden;
            }

            return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
        }
    }

    /// <summary>Loads the library now (idempotent); throws with the path when it is missing.</summary>
    public static IntPtr Load()
    {
        var path = LibraryPath;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"librdkafka mock library not found at {path} (set {PathVariable} to override)", path);
        }

        return NativeLibrary.Load(path);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library ? Load() : IntPtr.Zero;

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
    public static partial IntPtr ConfNew();

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ConfSet(IntPtr conf, string name, string value, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    public static partial IntPtr New(int type, IntPtr conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    public static partial void Destroy(IntPtr rk);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    public static partial IntPtr ClusterNew(IntPtr rk, int brokerCount);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    public static partial void ClusterDestroy(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    public static partial IntPtr ClusterBootstraps(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TopicCreate(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_host_port", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void BrokerSetHostPort(IntPtr cluster, int brokerId, string host, int port);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_set_apiversion")]
    public static partial int SetApiVersion(IntPtr cluster, short apiKey, short minVersion, short maxVersion);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    public static partial void PushRequestErrorsArray(IntPtr cluster, short apiKey, nuint count, int[] errors);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_start_request_tracking")]
    public static partial void StartRequestTracking(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_stop_request_tracking")]
    public static partial void StopRequestTracking(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_get_requests")]
    public static partial IntPtr GetRequests(IntPtr cluster, out nuint count);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_request_destroy_array")]
    public static partial void RequestDestroyArray(IntPtr requests, nuint count);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_request_id")]
    public static partial int RequestBrokerId(IntPtr request);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_request_api_key")]
    public static partial short RequestApiKey(IntPtr request);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_request_timestamp")]
    public static partial long RequestTimestamp(IntPtr request);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_clear_requests")]
    public static partial void ClearRequests(IntPtr cluster);
}
