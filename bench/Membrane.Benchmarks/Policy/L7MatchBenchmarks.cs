using System.Text;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Benchmarks.Policy;

/// <summary>
/// HTTP rule matching with the seed's rules for user-service (both seed policies merged, as the repository merges
/// them) and catalog (gRPC paths). Baseline: comparing method and path to one literal pair with ordinal equality.
/// </summary>
[MemoryDiagnoser]
public class HttpRuleMatchBenchmarks
{
    private static readonly PolicyRef Api = new("CiliumNetworkPolicy", "default", "user-service-api-policy");
    private static readonly PolicyRef Header = new("CiliumNetworkPolicy", "default", "user-service-header-policy");
    private static readonly PolicyRef Catalog = new("CiliumNetworkPolicy", "default", "catalog-grpc-policy");

    private readonly HttpRuleSet _users = HttpRuleSet.Compile(
    [
        (new HttpRule(Method: "GET", Path: "/api/v1/users/?.*"), Api),
        (new HttpRule(Method: "POST", Path: "/api/v1/payments"), Api),
        (new HttpRule(Method: "GET", Path: "/api/v1/users/?.*", HeaderMatches: [new HeaderMatch("X-Request-Source", "frontend-app")]), Header),
    ]);

    private readonly HttpRuleSet _catalog = HttpRuleSet.Compile(
    [
        (new HttpRule(Method: "POST", Path: "/com.example.catalog.ProductService/GetProduct"), Catalog),
        (new HttpRule(Method: "POST", Path: "/com.example.catalog.ProductService/UpdateStock"), Catalog),
    ]);

    private readonly string _get = "GET";
    private readonly string _delete = "DELETE";
    private readonly string _post = "POST";
    private readonly string _userPath = "/api/v1/users/123";
    private readonly string _grpcPath = "/com.example.catalog.ProductService/UpdateStock";

    /// <summary>Headers of a typical request, held by value as the proxy's header view would.</summary>
    private readonly struct Headers : IHttpHeaderView
    {
        public int Count(string name) => string.Equals(name, "X-Request-Source", StringComparison.OrdinalIgnoreCase) ? 1 : 0;

        public ReadOnlySpan<char> Value(string name, int index) => "frontend-app";
    }

    /// <summary>Two ordinal comparisons.</summary>
    [Benchmark(Baseline = true)]
    public bool LiteralCompare() => _get.AsSpan().SequenceEqual("GET") && _userPath.AsSpan().SequenceEqual("/api/v1/users/123");

    /// <summary>Seed: frontend <c>GET /api/v1/users/123</c> (allowed by the first rule).</summary>
    [Benchmark]
    public bool GetUserAllowed()
    {
        var h = default(Headers);
        return _users.Evaluate(_get, _userPath, "users", ref h).Allowed;
    }

    /// <summary>Seed: <c>DELETE /api/v1/users/123</c> (denied: every rule is tried).</summary>
    [Benchmark]
    public bool DeleteUserDenied()
    {
        var h = default(Headers);
        return _users.Evaluate(_delete, _userPath, "users", ref h).Allowed;
    }

    /// <summary>Seed: inventory <c>UpdateStock</c> (second gRPC rule).</summary>
    [Benchmark]
    public bool GrpcUpdateStock()
    {
        var h = default(Headers);
        return _catalog.Evaluate(_post, _grpcPath, "catalog", ref h).Allowed;
    }
}

/// <summary>
/// Kafka rule matching with the seed's broker rules (produce and consume on orders-topic, merged). Baseline: the
/// least a matcher does: look the API key up in a role's key list and compare the topic and the client id.
/// </summary>
[MemoryDiagnoser]
public class KafkaRuleMatchBenchmarks
{
    private static readonly PolicyRef Broker = new("CiliumNetworkPolicy", "kafka", "kafka-broker-policy");

    private readonly KafkaRuleSet _rules = KafkaRuleSet.Compile(
    [
        (new KafkaRule(Role: "produce", Topic: "orders-topic"), Broker),
        (new KafkaRule(Role: "consume", Topic: "orders-topic"), Broker),
    ]);

    private readonly byte[] _orders = Encoding.UTF8.GetBytes("orders-topic");
    private readonly byte[] _payments = Encoding.UTF8.GetBytes("payments");
    private readonly byte[] _client = Encoding.UTF8.GetBytes("rdkafka");

    /// <summary>The topics of one request, as the proxy's parser exposes them.</summary>
    private readonly ref struct Topics(ReadOnlySpan<byte> topic) : IKafkaTopicList
    {
        private readonly ReadOnlySpan<byte> _topic = topic;

        public int Count => 1;

        public ReadOnlySpan<byte> this[int index] => _topic;
    }

    private readonly short[] _produceKeys = [0, 3, 18];
    private readonly short _apiKey = KafkaApiKeys.Produce;

    /// <summary>One key lookup and two span comparisons.</summary>
    [Benchmark(Baseline = true)]
    public bool KeyTopicAndClientCompare() =>
        Array.IndexOf(_produceKeys, _apiKey) >= 0 && _orders.AsSpan().SequenceEqual("orders-topic"u8) && _client.AsSpan().SequenceEqual("rdkafka"u8);

    /// <summary>Seed: orders produces to orders-topic (allowed).</summary>
    [Benchmark]
    public bool ProduceAllowed()
    {
        var t = new Topics(_orders);
        return _rules.Evaluate(KafkaApiKeys.Produce, 9, _client, ref t).Allowed;
    }

    /// <summary>Seed: shipping fetches orders-topic (allowed by the consume rule).</summary>
    [Benchmark]
    public bool FetchAllowed()
    {
        var t = new Topics(_orders);
        return _rules.Evaluate(KafkaApiKeys.Fetch, 12, _client, ref t).Allowed;
    }

    /// <summary>Produce to another topic (denied).</summary>
    [Benchmark]
    public bool ProduceOtherTopicDenied()
    {
        var t = new Topics(_payments);
        return _rules.Evaluate(KafkaApiKeys.Produce, 9, _client, ref t).Allowed;
    }
}
