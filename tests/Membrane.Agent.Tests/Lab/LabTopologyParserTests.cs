using System.Net;
using Membrane.Agent.Lab;

namespace Membrane.Agent.Tests.Lab;

public sealed class LabTopologyParserTests
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Membrane.slnx")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir!.FullName, relative);
    }

    [Fact]
    public void SeedTopologyParsesWithAddressesInFileOrder()
    {
        var t = LabTopologyParser.ParseFile(RepoFile("examples/lab/seed.yaml"));
        Assert.Equal("seed", t.Name);
        Assert.Equal(IPAddress.Parse("10.244.1.1"), t.RouterAddress);
        Assert.Equal(10, t.Pods.Count);
        Assert.Equal(IPAddress.Parse("10.244.1.10"), t.Pods[0].Address);
        var users = t.FindPod("user-service")!;
        Assert.Equal("default/users", users.QualifiedName);
        Assert.Equal(LabServerKind.Http, users.Server);
        Assert.Equal(80, users.Port);
        Assert.Equal(50051, t.FindPod("catalog")!.Port);
        Assert.Equal(9092, t.FindPod("kafka/kafka-broker")!.Port);
        Assert.Equal("kafka-broker", t.FindPod("kafka")!.Name);
        Assert.Equal(t.Pods.Count, t.Pods.Select(p => p.Address).Distinct().Count());
    }

    [Theory]
    [InlineData("name: x\nnamespaces:\n  - name: default\n    pods:\n      - name: a\n        sever: http\n", "t.yaml:6:9: namespaces[0].pods[0].sever: unknown field \"sever\"; did you mean \"server\"?")]
    [InlineData("name: x\nnamespaces:\n  - name: default\n    pods:\n      - name: a\n        server: htp\n", "t.yaml:6:17: namespaces[0].pods[0].server: unknown server \"htp\" (expected http, grpc, kafka or none); did you mean \"http\"?")]
    [InlineData("name: x\nnamespaces:\n  - name: default\n    pods:\n      - name: a\n      - name: a\n", "t.yaml:6:9: namespaces[0].pods[1].name: pod name \"a\" is already used by default/a (pod names are host names: unique in the lab)")]
    [InlineData("name: x\nnamespaces:\n  - name: default\n    pods:\n      - name: a\n        ip: 10.9.0.1\n", "t.yaml:6:13: namespaces[0].pods[0].ip: invalid ip \"10.9.0.1\": an IPv4 address inside podCIDR 10.244.1.0/24")]
    [InlineData("name: x\nnamespaces:\n  - name: default\n    pods:\n      - name: a\n        port: 80\n", "t.yaml:6:15: namespaces[0].pods[0].port: a port needs a server (http, grpc or kafka)")]
    [InlineData("name: x\npodCIDR: 10.0.0.1/24\nnamespaces:\n  - name: d\n    pods: []\n", "t.yaml:2:10: podCIDR: invalid podCIDR \"10.0.0.1/24\": an IPv4 network between /16 and /28, e.g. 10.244.1.0/24")]
    [InlineData("name: Bad_Name\nnamespaces:\n  - name: d\n    pods: []\n", "t.yaml:1:7: name: invalid lab name \"Bad_Name\": use 1–12 lowercase letters, digits or '-' (it prefixes namespace and interface names)")]
    [InlineData("name: x\nnamespaces:\n  - name: d\n    pods:\n      - name: a\n        aliases: [b]\n      - name: b\n", "t.yaml:5:9: namespaces[0].pods[0].aliases: alias \"b\" is already a name of d/b")]
    public void InvalidTopologiesAreRejectedWithLocation(string yaml, string expected)
    {
        var e = Assert.Throws<TopologyException>(() => LabTopologyParser.Parse(yaml, "t.yaml"));
        Assert.Contains(expected, e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void EveryErrorIsReportedNotJustTheFirst()
    {
        var yaml = "name: x\nbogus: 1\nnamespaces:\n  - name: default\n    pods:\n      - name: A\n        server: nope\n";
        var e = Assert.Throws<TopologyException>(() => LabTopologyParser.Parse(yaml, "t.yaml"));
        Assert.Equal(3, e.Errors.Count);
    }
}
