using System.Net;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Tests.Builders;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Repository;

/// <summary>Repository operations: what each change touches and reports.</summary>
public sealed class PolicyRepositoryTests
{
    private static TestRepository Lab()
    {
        var t = new TestRepository();
        t.Add(1, "default", "app=frontend", "10.0.0.1");
        t.Add(2, "default", "app=users", "10.0.0.2");
        t.Add(3, "prod", "app=users", "10.0.0.3");
        return t;
    }

    private static readonly PolicyResource UsersFromFrontend =
        Cnp("users", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])]));

    [Fact]
    public void APolicyChangeReportsDeltasOnlyForTheEndpointsItSelects()
    {
        var t = Lab();
        var update = t.Repository.Upsert(UsersFromFrontend);
        Assert.Equal([(ushort)2], update.Deltas.Select(d => d.EndpointId));
        var delta = update.Deltas[0];
        Assert.Equal(["ingress pod1 80/TCP allow"], delta.Upserts.Select(t.Render));
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, 0, 0, 0, 0)], delta.Deletes);
        Assert.Null(t.Repository.Upsert(UsersFromFrontend).DeltaOf(2));
    }

    [Fact]
    public void ANewIdentityTouchesOnlyTheEndpointsWhoseSelectorsPickItUp()
    {
        var t = Lab();
        t.Repository.Upsert(UsersFromFrontend);
        var update = t.Repository.UpsertIdentity(new NumericIdentity(40000), LabelSet.Parse("k8s:app=frontend,k8s:io.kubernetes.pod.namespace=default"));
        var delta = Assert.Single(update.Deltas);
        Assert.Equal(2, delta.EndpointId);
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, 40000, 6, 80, 16)], delta.Upserts.Select(u => u.Key));
        Assert.Empty(delta.Deletes);
        var removed = Assert.Single(t.Repository.RemoveIdentity(new NumericIdentity(40000))!.Deltas);
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, 40000, 6, 80, 16)], removed.Deletes);
        Assert.Empty(t.Repository.UpsertIdentity(new NumericIdentity(40001), LabelSet.Parse("app=nobody")).Deltas);
    }

    [Fact]
    public void EndpointsComeAndGoWithTheirIdentityAndAddress()
    {
        var t = Lab();
        t.Repository.Upsert(UsersFromFrontend);
        var frontend = t.IdentityOf(1);
        Assert.Equal(frontend, t.IpCache.Lookup(IPAddress.Parse("10.0.0.1")));
        var update = t.Repository.RemoveEndpoint(1)!;
        Assert.Equal([(ushort)1, (ushort)2], update.Deltas.Select(d => d.EndpointId));
        Assert.Equal(2, update.DeltaOf(1)!.Deletes.Count);
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, frontend.Value, 6, 80, 16)], update.DeltaOf(2)!.Deletes);
        Assert.Null(t.Repository.GetEndpointPolicy(1));
        Assert.Equal(NumericIdentity.World, t.IpCache.Lookup(IPAddress.Parse("10.0.0.1")));
        Assert.False(t.Allocator.TryGetLabels(frontend, out _));
        Assert.Null(t.Repository.RemoveEndpoint(1));
    }

    [Fact]
    public void RelabellingAnEndpointMovesItToANewIdentityEverywhere()
    {
        var t = Lab();
        t.Repository.Upsert(UsersFromFrontend);
        var old = t.IdentityOf(1);
        var update = t.Repository.UpsertEndpoint(Endpoint(1, "default", "app=frontend,version=v2", "10.0.0.9"));
        var now = t.IdentityOf(1);
        Assert.NotEqual(old, now);
        Assert.Equal(now, t.IpCache.Lookup(IPAddress.Parse("10.0.0.9")));
        Assert.Equal(NumericIdentity.World, t.IpCache.Lookup(IPAddress.Parse("10.0.0.1")));
        var users = update.DeltaOf(2)!;
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, now.Value, 6, 80, 16)], users.Upserts.Select(u => u.Key));
        Assert.Equal([new PolicyKey(TrafficDirection.Ingress, old.Value, 6, 80, 16)], users.Deletes);
    }

    [Fact]
    public void CidrIdentitiesLiveAsLongAsAPolicyNamesThePrefix()
    {
        var t = Lab();
        var p = Cnp("ext", "default", Rule(Sel("app=frontend"), egress: [To(cidr: ["198.51.100.0/24"])]));
        t.Repository.Upsert(p);
        var id = t.IpCache.Lookup(IPAddress.Parse("198.51.100.7"));
        Assert.True(id.IsLocal);
        Assert.True(t.Repository.TryGetIdentityLabels(id, out var labels));
        Assert.Equal("cidr:198.51.100.0/24,reserved:world", labels.ToString());
        t.Repository.Upsert(Cnp("ext2", "default", Rule(Sel("app=users"), egress: [To(cidr: ["198.51.100.0/24"])])));
        t.Repository.Delete(p.Ref);
        Assert.Equal(id, t.IpCache.Lookup(IPAddress.Parse("198.51.100.7")));
        t.Repository.Delete(new PolicyRef("CiliumNetworkPolicy", "default", "ext2"));
        Assert.Equal(NumericIdentity.World, t.IpCache.Lookup(IPAddress.Parse("198.51.100.7")));
        Assert.False(t.Repository.TryGetIdentityLabels(id, out _));
    }

    [Fact]
    public void ReplaceAllSwapsTheSetAndDeleteByNameReportsMissingPolicies()
    {
        var t = Lab();
        t.Repository.ReplaceAll([UsersFromFrontend, Cnp("other", "prod", Rule(All, ingress: [From()]))]);
        Assert.Equal(["default/users", "prod/other"], t.Repository.Policies.Select(p => p.Ref.QualifiedName));
        Assert.True(t.Policy(3).Ingress.Enforced);
        var update = t.Repository.ReplaceAll([UsersFromFrontend]);
        Assert.Equal([(ushort)3], update.Deltas.Select(d => d.EndpointId));
        Assert.False(t.Policy(3).Ingress.Enforced);
        Assert.Null(t.Repository.Delete(new PolicyRef("CiliumNetworkPolicy", "prod", "other")));
        var duplicate = Assert.Throws<Membrane.Policy.Repository.PolicyCompileException>(() => t.Repository.ReplaceAll([UsersFromFrontend, UsersFromFrontend]));
        Assert.Contains("duplicate policy default/users", duplicate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SelectorsAreSharedAndListed()
    {
        var t = Lab();
        t.Repository.ReplaceAll([UsersFromFrontend, Cnp("again", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")])]))]);
        var selectors = t.Repository.Selectors();
        var frontend = Assert.Single(selectors, s => s.Selector == "{any:app=frontend, k8s:io.kubernetes.pod.namespace=default}");
        Assert.Equal(2, frontend.References);
        Assert.Equal([t.IdentityOf(1).Value], frontend.Identities);
    }
}

/// <summary>What the proxy source resolves per connection.</summary>
public sealed class ConnectionResolutionTests
{
    private static TestRepository Seed()
    {
        var t = new TestRepository();
        t.Add(1, "default", "app=frontend", "10.0.0.1");
        t.Add(2, "default", "app=users", "10.0.0.2");
        t.Add(3, "default", "app=billing", "10.0.0.3");
        t.Repository.ReplaceAll(
        [
            Cnp("users", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Http("80/TCP", new Membrane.Policy.L7.Http.HttpRule(Method: "GET"))])])),
            Cnp("fe", "default", Rule(Sel("app=frontend"), egress: [To([Sel("app=users")], toPorts: [Ports("80/TCP")])], egressDeny: [To([Sel("app=billing")])])),
        ]);
        return t;
    }

    [Fact]
    public void RedirectedIngressGivesItsRulesAndTheEngine()
    {
        var t = Seed();
        var r = t.Repository.ResolveConnection(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), 6, 80);
        Assert.True(r.L4Allowed);
        Assert.Equal(L7Protocol.Http, r.Protocol);
        Assert.Equal(t.IdentityOf(1), r.SourceIdentity);
        Assert.Equal(t.IdentityOf(2), r.DestinationIdentity);
        Assert.Null(r.HttpEgress);
        Assert.NotNull(r.HttpIngress);
        Assert.Equal(["default/fe", "default/users"], r.L4DecidedBy.Select(p => p.QualifiedName));
        Assert.Equal(t.Repository.Revision, r.Revision);
    }

    [Fact]
    public void DropsNameTheDenyingOrDefaultDenyPolicies()
    {
        var t = Seed();
        var deny = t.Repository.ResolveConnection(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.3"), 6, 80);
        Assert.False(deny.L4Allowed);
        Assert.Equal(PolicyDropReason.PolicyDenyList, deny.Egress!.Value.DropReason);
        Assert.Equal(["default/fe"], deny.L4DecidedBy.Select(p => p.QualifiedName));
        var world = t.Repository.ResolveConnection(IPAddress.Parse("192.0.2.1"), IPAddress.Parse("10.0.0.2"), 6, 80);
        Assert.Equal(NumericIdentity.World, world.SourceIdentity);
        Assert.Null(world.Egress);
        Assert.False(world.L4Allowed);
        Assert.Equal(["default/users"], world.L4DecidedBy.Select(p => p.QualifiedName));
    }
}

/// <summary>Bad endpoint input is refused before anything changes.</summary>
public sealed class EndpointValidationTests
{
    [Fact]
    public void DuplicateAddressAndIdZeroAreRefused()
    {
        var t = new TestRepository();
        t.Add(1, "default", "app=a", "10.0.0.1");
        var revision = t.Repository.Revision;
        var e = Assert.Throws<ArgumentException>(() => t.Repository.UpsertEndpoint(Endpoint(2, "default", "app=b", "10.0.0.1")));
        Assert.StartsWith("address 10.0.0.1 already belongs to endpoint 1 (default/pod1)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => t.Repository.UpsertEndpoint(Endpoint(0, "default", "app=b")));
        Assert.Equal(revision, t.Repository.Revision);
        Assert.Null(t.Repository.GetEndpointPolicy(2));
        Assert.Equal(t.IdentityOf(1), t.IpCache.Lookup(IPAddress.Parse("10.0.0.1")));
        t.Repository.UpsertEndpoint(Endpoint(1, "default", "app=a", "10.0.0.1"));
        Assert.Equal(1, t.Repository.GetEndpointPolicy(IPAddress.Parse("10.0.0.1"))!.EndpointId);
    }
}
