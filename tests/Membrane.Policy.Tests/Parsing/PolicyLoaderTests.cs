using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

public sealed class PolicyLoaderTests : IDisposable
{
    private const string Cnp = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users
          namespace: shop
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: frontend
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("membrane-policy-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MultiDocumentStreamYieldsEveryPolicyInOrder()
    {
        var text = "---\n" + Cnp + "\n---\n# only a comment\n---\n" + Cnp.Replace("name: users", "name: orders", StringComparison.Ordinal) + "\n...\n";
        var result = PolicyLoader.LoadText(text, "stream.yaml");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(["users", "orders"], result.Policies.Select(p => p.Name));
        Assert.Equal(new SourceLocation("stream.yaml", 2, 1), result.Policies[0].Source);
    }

    [Fact]
    public void KindListAndTypedListsAreExpanded()
    {
        var text = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: cilium.io/v2
              kind: CiliumClusterwideNetworkPolicy
              metadata: {name: lockdown}
              spec:
                endpointSelector: {}
                ingressDeny:
                - fromEntities: [world]
            - apiVersion: cilium.io/v2
              kind: CiliumNetworkPolicyList
              items:
              - metadata: {name: a, namespace: x}
                spec: {endpointSelector: {}, egress: [{}]}
            """;
        var result = PolicyLoader.LoadText(text, "list.yaml");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(
            [(PolicyKind.CiliumClusterwideNetworkPolicy, "lockdown", (string?)null), (PolicyKind.CiliumNetworkPolicy, "a", "x")],
            result.Policies.Select(p => (p.Kind, p.Name, p.Namespace)));
    }

    [Fact]
    public void ErrorsInsideListsNameTheItem()
    {
        var text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicyList
            items:
            - metadata: {name: a}
              spec: {endpointSelector: {}, egress: [{toPorts: [{ports: [{port: "99999"}]}]}]}
            """;
        var error = Assert.Single(PolicyLoader.LoadText(text, "l.yaml").Errors);
        Assert.Equal("items[0].spec.egress[0].toPorts[0].ports[0].port", error.FieldPath);
        Assert.Equal(new SourceLocation("l.yaml", 5, 68), error.Location);
    }

    [Fact]
    public void JsonWithTabsIsRead()
    {
        var json = "{\n\t\"apiVersion\": \"cilium.io/v2\",\n\t\"kind\": \"CiliumNetworkPolicy\",\n\t\"metadata\": {\"name\": \"j\"},\n" +
            "\t\"spec\": {\n\t\t\"endpointSelector\": {\"matchLabels\": {\"app\": \"users\"}},\n" +
            "\t\t\"egress\": [{\"toPorts\": [{\"ports\": [{\"port\": 443, \"protocol\": \"TCP\"}]}]}]\n\t}\n}\n";
        var result = PolicyLoader.LoadText(json, "p.json");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var port = Assert.Single(Assert.Single(Assert.Single(result.Policies).Rules).Egress![0].ToPorts!).Ports[0];
        Assert.Equal(new PortProtocol("443", null, "TCP"), port);
        Assert.Equal(new SourceLocation("p.json", 7, 47), result.Policies[0].Locations["spec.egress[0].toPorts[0].ports[0].port"]);
    }

    [Fact]
    public void DirectoriesAreReadRecursivelyInPathOrderAndOtherFilesIgnored()
    {
        Write("b/two.yml", Cnp.Replace("name: users", "name: two", StringComparison.Ordinal));
        Write("a/one.JSON", """{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"one"},"spec":{"podSelector":{}}}""");
        Write("a/notes.txt", "not a policy");
        Write("c.yaml", Cnp);

        var result = PolicyLoader.LoadPaths([_dir]);

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(["one", "two", "users"], result.Policies.Select(p => p.Name));
        Assert.Equal(3, result.Files.Count);
    }

    [Fact]
    public void ConfigMapVolumeLayoutIsReadOnceAndSymlinkCyclesDoNotLoop()
    {
        // A ConfigMap volume: visible symlinks into "..data", itself a symlink to a hidden timestamped folder.
        Write("cm/..2026_01_01/users.yaml", Cnp);
        Directory.CreateSymbolicLink(Path.Combine(_dir, "cm", "..data"), "..2026_01_01");
        File.CreateSymbolicLink(Path.Combine(_dir, "cm", "users.yaml"), "..data/users.yaml");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "cm", "loop"), ".");
        Write(".git/config.yaml", "not: [a policy");

        var result = PolicyLoader.LoadPaths([_dir]);

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(Path.Combine(_dir, "cm", "users.yaml"), Assert.Single(result.Policies).Source.File);
    }

    [Fact]
    public void RelativeDirectoryKeepsRelativePaths()
    {
        var result = PolicyLoader.LoadPaths([Path.GetRelativePath(Environment.CurrentDirectory, RepoPaths.Of("examples", "seed"))]);
        Assert.All(result.Policies, p => Assert.False(Path.IsPathRooted(p.Source.File)));
    }

    [Fact]
    public void OneInvalidDocumentMakesTheWholeSetInvalid()
    {
        Write("good.yaml", Cnp);
        Write("bad.yaml", Cnp.Replace("fromEndpoints", "fromEndpoint", StringComparison.Ordinal).Replace("name: users", "name: bad", StringComparison.Ordinal));

        var result = PolicyLoader.LoadPaths([_dir]);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal($"{Path.Combine(_dir, "bad.yaml")}:11:5: spec.ingress[0].fromEndpoint: unknown field; did you mean \"fromEndpoints\"?", error.ToString());
    }

    [Fact]
    public void AllErrorsAreCollectedInFileOrder()
    {
        Write("a.yaml", Cnp.Replace("namespace: shop", "namespace: Shop", StringComparison.Ordinal).Replace("ingress:", "ingres:", StringComparison.Ordinal));
        Write("b.yaml", "kind: [");

        var result = PolicyLoader.LoadPaths([Path.Combine(_dir, "b.yaml"), Path.Combine(_dir, "a.yaml")]);

        Assert.Equal(
            [
                "b.yaml:2:1: invalid YAML: While parsing a node, did not find expected node content",
                "a.yaml:5:14: metadata.namespace: invalid namespace \"Shop\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)",
                "a.yaml:6:1: spec: rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny (to deny everything in a direction, write one empty rule: ingress: [{}])",
                "a.yaml:10:3: spec.ingres: unknown field; did you mean \"ingress\"?",
            ],
            result.Errors.Select(e => e.ToString().Replace(_dir + "/", "", StringComparison.Ordinal)));
    }

    [Fact]
    public void MissingPathIsAnError()
    {
        var missing = Path.Combine(_dir, "nope.yaml");
        var error = Assert.Single(PolicyLoader.LoadPaths([missing]).Errors);
        Assert.Equal($"{missing}: no such file or directory", error.ToString());
    }

    [Fact]
    public void StdinIsReadForDash()
    {
        var result = PolicyLoader.LoadPaths(["-"], new StringReader(Cnp));
        Assert.Equal("<stdin>", Assert.Single(result.Policies).Source.File);
    }

    [Fact]
    public void NilAndEmptyListsKeepTheirMeaning()
    {
        var text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: n}
            spec:
              endpointSelector: {}
              ingress:
              - fromEndpoints: []
                toPorts: [{ports: [{port: "80"}]}]
              - fromEndpoints:
                toPorts: [{ports: [{port: "81"}]}]
              - fromEndpoints: [{}]
              egress: []
              egressDeny: [{}]
            """;
        var rule = Assert.Single(Assert.Single(PolicyLoader.LoadText(text, "n.yaml").Policies).Rules);

        Assert.NotNull(rule.Ingress![0].FromEndpoints);
        Assert.Empty(rule.Ingress[0].FromEndpoints!);
        Assert.Null(rule.Ingress[1].FromEndpoints);
        Assert.Equal(EndpointSelector.All, Assert.Single(rule.Ingress[2].FromEndpoints!), new SelectorComparer());
        Assert.NotNull(rule.Egress);
        Assert.Empty(rule.Egress!);
        Assert.Null(rule.IngressDeny);
        Assert.Equal(new EgressRule(null, null, null, null, null, null, null, null, null, "spec.egressDeny[0]"), Assert.Single(rule.EgressDeny!));
    }

    [Fact]
    public void EveryRuleFieldIsRead()
    {
        var text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: all-fields, namespace: shop}
            spec:
              description: every field
              labels:
              - {key: team, value: payments}
              - k8s:tier=backend
              log: {value: payments-audit}
              enableDefaultDeny: {ingress: true, egress: false}
              endpointSelector:
                matchLabels: {any:app: pay, k8s:io.kubernetes.pod.namespace: shop}
                matchExpressions:
                - {key: env, operator: NotIn, values: [dev, test]}
                - {key: reserved:host, operator: DoesNotExist}
              ingress:
              - fromCIDRSet:
                - cidr: 10.0.0.0/8
                  except: [10.1.0.0/16, 10.2.3.4/32]
                toPorts:
                - ports:
                  - {port: "8080", endPort: 8090, protocol: tcp}
                  - {port: HTTP-Alt}
                  - {port: "443", protocol: SCTP}
              - fromEntities: [world, kube-apiserver]
                icmps:
                - fields: [{type: 8}, {family: IPv6, type: EchoRequest}]
              - fromCIDR: [192.0.2.1, "2001:db8::/32"]
              egress:
              - toEndpoints: [{matchLabels: {app: kafka}}]
                toPorts:
                - ports: [{port: "9092", protocol: TCP}]
                  rules:
                    kafka:
                    - {role: produce, topic: payments, clientID: pay-1}
                    - {apiKey: Fetch, apiVersion: "12"}
              - toEndpoints: [{}]
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                    - method: GET
                      path: /api/.*
                      host: api\.example\.com
                      headers: ["X-Trace", "X-Env: prod"]
                      headerMatches:
                      - {name: X-Token, value: s3cret, mismatch: REPLACE, secret: {namespace: shop, name: token}}
                      - {name: X-Debug, mismatch: LOG}
            """;
        var result = PolicyLoader.LoadText(text, "all.yaml");
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var rule = Assert.Single(Assert.Single(result.Policies).Rules);

        Assert.Equal("every field", rule.Description);
        Assert.Equal([new Label("unspec", "team", "payments"), new Label("k8s", "tier", "backend")], rule.Labels);
        Assert.Equal("payments-audit", rule.Log);
        Assert.Equal(new DefaultDenyConfig(true, false), rule.EnableDefaultDeny);
        Assert.Equal("pay", rule.EndpointSelector!.MatchLabels["any:app"]);
        Assert.Equal(
            [new SelectorRequirement("env", SelectorOperator.NotIn, ["dev", "test"]), new SelectorRequirement("reserved:host", SelectorOperator.DoesNotExist, [])],
            rule.EndpointSelector.MatchExpressions, new RequirementComparer());

        var cidrSet = Assert.Single(rule.Ingress![0].FromCidrSet!);
        Assert.Equal("10.0.0.0/8", cidrSet.Cidr);
        Assert.Equal(["10.1.0.0/16", "10.2.3.4/32"], cidrSet.Except);
        Assert.Equal(
            [new PortProtocol("8080", 8090, "TCP"), new PortProtocol("http-alt", null, "ANY"), new PortProtocol("443", null, "SCTP")],
            rule.Ingress[0].ToPorts![0].Ports);
        Assert.Equal(["world", "kube-apiserver"], rule.Ingress[1].FromEntities);
        Assert.Equal([new IcmpField("IPv4", "8"), new IcmpField("IPv6", "EchoRequest")], Assert.Single(rule.Ingress[1].Icmps!).Fields);
        Assert.Equal(["192.0.2.1", "2001:db8::/32"], rule.Ingress[2].FromCidr);

        var kafka = rule.Egress![0].ToPorts![0].Rules!.Kafka!;
        Assert.Equal([new KafkaRule(Role: "produce", ClientId: "pay-1", Topic: "payments"), new KafkaRule(ApiKey: "Fetch", ApiVersion: "12")], kafka);
        var http = Assert.Single(rule.Egress[1].ToPorts![0].Rules!.Http!);
        Assert.Equal(("GET", "/api/.*", "api\\.example\\.com"), (http.Method, http.Path, http.Host));
        Assert.Equal(["X-Trace", "X-Env: prod"], http.Headers);
        Assert.Equal(new HeaderMatch("X-Token", "s3cret", HeaderMismatchAction.Replace) { Secret = new HeaderSecret("shop", "token") }, http.HeaderMatches![0]);
        Assert.Equal(new HeaderMatch("X-Debug", null, HeaderMismatchAction.Log), http.HeaderMatches[1]);
    }

    [Fact]
    public void SpecAndSpecsAreBothReadSpecFirst()
    {
        var text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: both}
            specs:
            - {endpointSelector: {matchLabels: {n: "1"}}, ingress: [{}]}
            - {endpointSelector: {matchLabels: {n: "2"}}, ingress: [{}]}
            spec: {endpointSelector: {matchLabels: {n: "0"}}, egress: [{}]}
            """;
        var rules = Assert.Single(PolicyLoader.LoadText(text, "s.yaml").Policies).Rules;
        Assert.Equal(["spec", "specs[0]", "specs[1]"], rules.Select(r => r.FieldPath));
        Assert.Equal(["0", "1", "2"], rules.Select(r => r.EndpointSelector!.MatchLabels["n"]));
    }

    [Fact]
    public void AnchorsAliasesAndMergeKeysAreResolved()
    {
        var text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: anchors}
            spec:
              endpointSelector: &sel {matchLabels: {app: users}}
              ingress:
              - fromEndpoints: [*sel]
                toPorts: &ports [{ports: [{port: "80", protocol: TCP}]}]
              egress:
              - <<: {toPorts: *ports}
                toEndpoints: [*sel]
            """;
        var result = PolicyLoader.LoadText(text, "a.yaml");
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var rule = result.Policies[0].Rules[0];
        Assert.Equal("users", rule.Ingress![0].FromEndpoints![0].MatchLabels["app"]);
        Assert.Equal("80", rule.Egress![0].ToPorts![0].Ports[0].Port);
    }

    [Fact]
    public void AliasExpansionBombIsRefused()
    {
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++)
        {
            lines.Add($"a{i}: &a{i} [" + string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10)) + "]");
        }

        var result = PolicyLoader.LoadText(string.Join('\n', lines), "bomb.yaml");
        Assert.Contains(result.Errors, e => e.Message.StartsWith("document too large", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryPrefixAndTrailingGarbageNeverThrows()
    {
        var text = File.ReadAllText(RepoPaths.Of("examples", "seed", "user-service-header-policy.yaml"));
        for (var n = 0; n <= text.Length; n++)
        {
            var result = PolicyLoader.LoadText(text[..n], "prefix.yaml");
            Assert.All(result.Errors, e => Assert.InRange(e.Location.Line, 1, text.Count(c => c == '\n') + 1));
        }

        foreach (var garbage in new[] { "}", "\t\u0000", "- x", "]]: [", "\"unterminated", "&a *b" })
        {
            Assert.False(PolicyLoader.LoadText(text + garbage, "garbage.yaml").IsValid);
        }
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private sealed class SelectorComparer : IEqualityComparer<EndpointSelector>
    {
        public bool Equals(EndpointSelector? x, EndpointSelector? y) =>
            x!.MatchLabels.OrderBy(k => k.Key).SequenceEqual(y!.MatchLabels.OrderBy(k => k.Key)) && x.MatchExpressions.Count == y.MatchExpressions.Count;

        public int GetHashCode(EndpointSelector obj) => 0;
    }

    private sealed class RequirementComparer : IEqualityComparer<SelectorRequirement>
    {
        public bool Equals(SelectorRequirement? x, SelectorRequirement? y) =>
            x!.Key == y!.Key && x.Operator == y.Operator && x.Values.SequenceEqual(y.Values);

        public int GetHashCode(SelectorRequirement obj) => 0;
    }
}
