using System.Text.Json;

namespace Membrane.Cli.Tests.Commands.Policy;

/// <summary><c>membrane policy trace</c> end to end: the real binary on the seed policies and on policies written here.</summary>
public sealed class TraceCommandTests : IDisposable
{
    private const string Seed = "examples/seed";

    private const string DenyPolicy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: no-ssh
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingressDeny:
          - fromEndpoints:
            - matchLabels:
                app: frontend
            toPorts:
            - ports:
              - port: "22"
                protocol: TCP
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("membrane-trace-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AllowedRequestPrintsBothSidesTheRuleAndTheL7Verdict()
    {
        var (code, stdout, stderr) = CliRunner.Run(null, "policy", "trace", "-f", Seed, "--src", "app=frontend", "--dst", "app=users",
            "--dport", "80", "--http-method", "GET", "--http-path", "/api/v1/users/123");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("Egress of the source: default/k8s:app=frontend", stdout, StringComparison.Ordinal);
        Assert.Contains("enforcement: off", stdout, StringComparison.Ordinal);
        Assert.Contains("enforcement: default deny, enabled by default/user-service-api-policy (CiliumNetworkPolicy), default/user-service-header-policy (CiliumNetworkPolicy)", stdout, StringComparison.Ordinal);
        Assert.Contains("redirect to the HTTP proxy", stdout, StringComparison.Ordinal);
        Assert.Contains("spec.ingress[0].toPorts[0] at examples/seed/user-service-api-policy.yaml:18:7", stdout, StringComparison.Ordinal);
        Assert.Contains("L7: GET /api/v1/users/123: allowed by default/user-service-api-policy (CiliumNetworkPolicy) rule method GET, path /api/v1/users/?.*", stdout, StringComparison.Ordinal);
        Assert.EndsWith("Final verdict: ALLOWED" + Environment.NewLine, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void DeniedRequestExitsZeroAndSaysWhy()
    {
        var (code, stdout, _) = CliRunner.Run(null, "policy", "trace", "-f", Seed, "--src", "app=frontend", "--dst", "app=users",
            "--dport", "80", "--http-method", "DELETE", "--http-path", "/api/v1/users/123");
        Assert.Equal(0, code);
        Assert.Contains("DELETE /api/v1/users/123: no HTTP rule matches: 403 Access denied", stdout, StringComparison.Ordinal);
        Assert.Contains("verdict: DENIED at L7", stdout, StringComparison.Ordinal);
        Assert.EndsWith("Final verdict: DENIED" + Environment.NewLine, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultDenyIsAttributedInJson()
    {
        var (code, stdout, _) = CliRunner.Run(null, "policy", "trace", "-f", Seed, "--src", "app=intruder", "--dst", "app=users", "--dport", "80", "-o", "json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("denied", root.GetProperty("verdict").GetString());
        Assert.Equal("allowed", root.GetProperty("egress").GetProperty("verdict").GetString());
        var ingress = root.GetProperty("ingress");
        Assert.Equal("denied", ingress.GetProperty("verdict").GetString());
        Assert.Equal(133, ingress.GetProperty("dropReason").GetInt32());
        Assert.Equal(JsonValueKind.Null, ingress.GetProperty("entry").ValueKind);
        Assert.Equal(
            ["user-service-api-policy", "user-service-header-policy"],
            ingress.GetProperty("defaultDenyBy").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
    }

    [Fact]
    public void SeedGrpcAndKafkaOutcomes()
    {
        string Verdict(params string[] args)
        {
            var (code, stdout, stderr) = CliRunner.Run(null, ["policy", "trace", "-f", Seed, "-o", "json", .. args]);
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout);
            return json.RootElement.GetProperty("verdict").GetString()!;
        }

        const string Service = "/com.example.catalog.ProductService/";
        Assert.Equal("allowed", Verdict("--src", "app=billing", "--dst", "app=users", "--dport", "80", "--http-method", "POST", "--http-path", "/api/v1/payments"));
        Assert.Equal("allowed", Verdict("--src", "app=reco", "--dst", "app=catalog", "--dport", "50051", "--http-method", "POST", "--http-path", Service + "GetProduct"));
        Assert.Equal("denied", Verdict("--src", "app=reco", "--dst", "app=catalog", "--dport", "50051", "--http-method", "POST", "--http-path", Service + "UpdateStock"));
        string[] kafka = ["--src-namespace", "kafka", "--dst", "app=kafka-broker", "--dst-namespace", "kafka", "--dport", "9092", "--kafka-topic", "orders-topic"];
        Assert.Equal("allowed", Verdict(["--src", "app=orders", "--kafka-role", "produce", .. kafka]));
        Assert.Equal("allowed", Verdict(["--src", "app=shipping", "--kafka-role", "consume", .. kafka]));
        Assert.Equal("denied", Verdict(["--src", "app=shipping", "--kafka-role", "produce", .. kafka]));
        Assert.Equal("denied", Verdict(["--src", "app=analytics", "--kafka-role", "consume", .. kafka]));
        Assert.Equal("allowed", Verdict(["--src", "app=shipping", "--kafka-api-key", "fetch", "--kafka-api-version", "11", .. kafka]));
    }

    [Fact]
    public void DenyRuleIsNamedWithItsLocation()
    {
        var file = Write("no-ssh.yaml", DenyPolicy);
        var (code, stdout, _) = CliRunner.Run(null, "policy", "trace", "-f", file, "-f", Seed, "--src", "app=frontend", "--dst", "app=users", "--dport", "22");
        Assert.Equal(0, code);
        Assert.Contains("verdict: DENIED (drop reason 181, Policy denied by denylist)", stdout, StringComparison.Ordinal);
        Assert.Contains($"denied by default/no-ssh (CiliumNetworkPolicy) spec.ingressDeny[0].toPorts[0] at {file}:", stdout, StringComparison.Ordinal);
        var json = CliRunner.Run(null, "policy", "trace", "-f", file, "--src", "app=frontend", "--dst", "app=users", "--dport", "22", "-o", "json");
        using var doc = JsonDocument.Parse(json.Stdout);
        var ingress = doc.RootElement.GetProperty("ingress");
        Assert.Equal(181, ingress.GetProperty("dropReason").GetInt32());
        Assert.Equal("deny", ingress.GetProperty("entry").GetProperty("verdict").GetString());
        Assert.Equal("spec.ingressDeny[0].toPorts[0]", ingress.GetProperty("rules")[0].GetProperty("field").GetString());
    }

    [Fact]
    public void AddressWithoutLabelsIsAWorldPeerAndPoliciesCanComeFromStdin()
    {
        var (code, stdout, stderr) = CliRunner.Run(DenyPolicy, "policy", "trace", "-f", "-", "--src-ip", "203.0.113.7", "--dst", "app=users", "--dport", "22", "-o", "json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(2u, root.GetProperty("source").GetProperty("identity").GetUInt32());
        Assert.False(root.GetProperty("source").GetProperty("endpoint").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("egress").ValueKind);
        // The deny rule selects frontend only; ingress is in default deny (a deny-only policy enables it).
        Assert.Equal("denied", root.GetProperty("verdict").GetString());
        Assert.Equal(133, root.GetProperty("ingress").GetProperty("dropReason").GetInt32());
    }

    [Theory]
    [InlineData("Option '--dport' is required", "--src", "app=a", "--dst", "app=b")]
    [InlineData("--src \"app=a,=b\": expected comma-separated key=value labels", "--src", "app=a,=b", "--dst", "app=b", "--dport", "80")]
    [InlineData("--dport 70000: expected 0-65535", "--src", "app=a", "--dst", "app=b", "--dport", "70000")]
    [InlineData("--protocol GRE: expected TCP, UDP, SCTP, ICMP or ICMPv6", "--src", "app=a", "--dst", "app=b", "--dport", "1", "--protocol", "GRE")]
    [InlineData("give --src LABELS (a pod) or --src-ip IP", "--dst", "app=b", "--dport", "80")]
    [InlineData("--src-ip 1.2.3: not an IP address", "--src-ip", "1.2.3", "--dst", "app=b", "--dport", "80")]
    [InlineData("give labels for at least one side", "--src-ip", "1.2.3.4", "--dst-ip", "5.6.7.8", "--dport", "80")]
    [InlineData("--http-* and --kafka-* describe different protocols", "--src", "app=a", "--dst", "app=b", "--dport", "80", "--http-method", "GET", "--kafka-topic", "t")]
    [InlineData("--kafka-role and --kafka-api-key are mutually exclusive", "--src", "app=a", "--dst", "app=b", "--dport", "80", "--kafka-role", "produce", "--kafka-api-key", "fetch")]
    [InlineData("--kafka-role publish: expected produce or consume", "--src", "app=a", "--dst", "app=b", "--dport", "80", "--kafka-role", "publish")]
    [InlineData("--kafka-api-key frobnicate: unknown API key", "--src", "app=a", "--dst", "app=b", "--dport", "80", "--kafka-api-key", "frobnicate")]
    [InlineData("--http-header \"X-Bad\": expected \"Name: value\"", "--src", "app=a", "--dst", "app=b", "--dport", "80", "--http-header", "X-Bad")]
    [InlineData("Argument 'yaml' not recognized", "--src", "app=a", "--dst", "app=b", "--dport", "80", "-o", "yaml")]
    public void BadInputExitsTwoWithAClearMessage(string message, params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(null, ["policy", "trace", "-f", Seed, .. args]);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr + stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Final verdict", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidPolicyFileExitsTwoNamingFileLineAndField()
    {
        var file = Write("bad.yaml", DenyPolicy.Replace("protocol: TCP", "protocol: TPC", StringComparison.Ordinal));
        var (code, stdout, stderr) = CliRunner.Run(null, "policy", "trace", "-f", file, "--src", "app=frontend", "--dst", "app=users", "--dport", "22");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"{file}:17:", stderr, StringComparison.Ordinal);
        Assert.Contains("spec.ingressDeny[0].toPorts[0].ports[0].protocol", stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was traced", stderr, StringComparison.Ordinal);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
