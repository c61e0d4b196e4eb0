using Membrane.Policy.L7.Http;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

public sealed class SeedExamplesTests
{
    [Fact]
    public void SeedDirectoryLoadsWithoutErrors()
    {
        var result = PolicyLoader.LoadPaths([RepoPaths.Of("examples", "seed")]);

        Assert.Empty(result.Errors);
        Assert.True(result.IsValid);
        Assert.Equal(
            ["catalog-grpc-policy", "kafka-broker-policy", "user-service-api-policy", "user-service-header-policy"],
            result.Policies.Select(p => p.Name));
        Assert.All(result.Policies, p => Assert.Equal(PolicyKind.CiliumNetworkPolicy, p.Kind));
    }

    [Fact]
    public void UserServicePolicyIsReadIntoTheModel()
    {
        var file = RepoPaths.Of("examples", "seed", "user-service-api-policy.yaml");
        var policy = Assert.Single(PolicyLoader.LoadPaths([file]).Policies);

        Assert.Equal("default", policy.Namespace);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal("spec", rule.FieldPath);
        Assert.Equal("users", rule.EndpointSelector!.MatchLabels["app"]);
        Assert.Null(rule.Egress);
        Assert.Equal(2, rule.Ingress!.Count);
        var first = rule.Ingress[0];
        Assert.Equal("spec.ingress[0]", first.FieldPath);
        Assert.Equal("frontend", Assert.Single(first.FromEndpoints!).MatchLabels["app"]);
        var portRule = Assert.Single(first.ToPorts!);
        Assert.Equal(new PortProtocol("80", null, "TCP"), Assert.Single(portRule.Ports));
        Assert.Equal(new HttpRule("GET", "/api/v1/users/?.*"), Assert.Single(portRule.Rules!.Http!));
        Assert.Equal(new SourceLocation(file, 24, 17), policy.Locations["spec.ingress[0].toPorts[0].rules.http[0].path"]);
    }
}
