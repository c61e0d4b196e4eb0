using System.Text;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.Parsing;
using YamlDotNet.RepresentationModel;

namespace Membrane.Benchmarks.Policy;

/// <summary>
/// Loading a policy set (200 HTTP/Kafka/CIDR policies, one stream) with full validation, against the baseline of
/// YamlDotNet building its own representation model of the same text. Not a hot path (runs once per policy
/// change); the ratio shows what positions, schema checks and validation cost over bare YAML parsing.
/// </summary>
[MemoryDiagnoser]
public class PolicyLoadBenchmarks
{
    private string _text = "";

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 200; i++)
        {
            sb.Append($$"""
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata:
                  name: svc-{{i}}
                  namespace: ns-{{i % 10}}
                spec:
                  endpointSelector:
                    matchLabels:
                      app: svc-{{i}}
                  ingress:
                  - fromEndpoints:
                    - matchLabels:
                        app: client-{{i}}
                    toPorts:
                    - ports:
                      - port: "8080"
                        protocol: TCP
                      rules:
                        http:
                        - method: "GET|POST"
                          path: "/api/v1/items/[0-9]+"
                          headerMatches:
                          - name: X-Tenant
                            value: t{{i}}
                  - fromCIDRSet:
                    - cidr: 10.{{i % 250}}.0.0/16
                      except: [10.{{i % 250}}.1.0/24]
                    toPorts:
                    - ports:
                      - port: "9092"
                        protocol: TCP
                      rules:
                        kafka:
                        - role: consume
                          topic: orders-{{i}}

                """);
        }

        _text = sb.ToString();
        var result = PolicyLoader.LoadText(_text, "bench.yaml");
        if (!result.IsValid || result.Policies.Count != 200)
        {
            throw new InvalidOperationException("benchmark input must be valid: " + string.Join('\n', result.Errors));
        }
    }

    [Benchmark(Baseline = true)]
    public int YamlDotNetRepresentationModel()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(_text));
        return stream.Documents.Count;
    }

    [Benchmark]
    public int PolicyLoaderLoadText() => PolicyLoader.LoadText(_text, "bench.yaml").Policies.Count;
}
