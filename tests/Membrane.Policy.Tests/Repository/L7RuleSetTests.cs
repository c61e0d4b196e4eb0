using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Policy.Tests.Builders;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Repository;

/// <summary>The L7 rule sets the proxy asks for: merged across policies, with attribution.</summary>
public sealed class L7RuleSetTests
{
    private readonly struct NoHeaders : IHttpHeaderView
    {
        public int Count(string name) => 0;

        public ReadOnlySpan<char> Value(string name, int index) => [];
    }

    private readonly struct Topics(params string[] names) : IKafkaTopicList
    {
        public int Count => names.Length;

        public ReadOnlySpan<byte> this[int index] => System.Text.Encoding.UTF8.GetBytes(names[index]);
    }

    private static TestRepository Lab(params PolicyResource[] policies)
    {
        var t = new TestRepository();
        t.Add(1, "default", "app=frontend");
        t.Add(2, "default", "app=users");
        t.Add(3, "default", "app=billing");
        t.Repository.ReplaceAll(policies);
        return t;
    }

    private static HttpVerdict Eval(HttpRuleSet set, string method, string path)
    {
        var h = default(NoHeaders);
        return set.Evaluate(method, path, "users", ref h);
    }

    [Fact]
    public void RulesOfSeveralPoliciesAreMergedWithAttribution()
    {
        var t = Lab(
            Cnp("get", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])])),
            Cnp("post", "default", Rule(Sel("app=users"), ingress: [From(toPorts: [Http("80/TCP", new HttpRule(Method: "POST", Path: "/orders"))])])));
        var users = t.Policy(2);
        var frontend = users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80)!;
        Assert.Equal(["default/get", "default/post"], frontend.Policies.Select(p => p.QualifiedName));
        Assert.Equal("default/get", Eval(frontend, "GET", "/x").DecidedBy!.QualifiedName);
        Assert.Equal("default/post", Eval(frontend, "POST", "/orders").DecidedBy!.QualifiedName);
        Assert.False(Eval(frontend, "DELETE", "/x").Allowed);
        var billing = users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(3), 6, 80)!;
        Assert.False(Eval(billing, "GET", "/x").Allowed);
        Assert.True(Eval(billing, "POST", "/orders").Allowed);
        Assert.Null(users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 81));
        Assert.Null(users.GetKafkaRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80));
    }

    [Fact]
    public void EqualRuleListsShareOneCompiledSet()
    {
        var t = Lab(Cnp("p", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend"), Sel("app=billing")], toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])])));
        var users = t.Policy(2);
        Assert.Same(
            users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80),
            users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(3), 6, 80));
    }

    [Fact]
    public void L3OnlyAllowForThePeerWildcardsTheL7Rules()
    {
        var t = Lab(
            Cnp("l7", "default", Rule(Sel("app=users"), ingress: [From(toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])])),
            Cnp("l3", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=billing")])])));
        var users = t.Policy(2);
        Assert.True(Eval(users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(3), 6, 80)!, "DELETE", "/").Allowed);
        Assert.False(Eval(users.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80)!, "DELETE", "/").Allowed);
    }

    [Fact]
    public void DirectionWithoutDefaultDenyNeverDeniesAtL7()
    {
        var t = Lab(Cnp("visibility", "default", Rule(
            Sel("app=users"),
            ingress: [From(toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])],
            defaultDeny: new DefaultDenyConfig(false, null))));
        var set = t.Policy(2).GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80)!;
        Assert.Equal("default/visibility", Eval(set, "GET", "/").DecidedBy!.QualifiedName);
        Assert.True(Eval(set, "DELETE", "/").Allowed);
        Assert.Equal(1, Eval(set, "DELETE", "/").RuleIndex);
    }

    [Fact]
    public void KafkaRulesMergeAcrossPeersAndPolicies()
    {
        var t = Lab(
            Cnp("produce", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Kafka("9092/TCP", new KafkaRule(Role: "produce", Topic: "a"))])])),
            Cnp("consume", "default", Rule(Sel("app=users"), ingress: [From(toPorts: [Kafka("9092/TCP", new KafkaRule(Role: "consume", Topic: "a"))])])));
        var set = t.Policy(2).GetKafkaRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 9092)!;
        var a = new Topics("a");
        Assert.True(set.Evaluate(KafkaApiKeys.Produce, 9, "c"u8, ref a).Allowed);
        Assert.True(set.Evaluate(KafkaApiKeys.Fetch, 12, "c"u8, ref a).Allowed);
        var b = new Topics("b");
        Assert.False(set.Evaluate(KafkaApiKeys.Produce, 9, "c"u8, ref b).Allowed);
        var billing = t.Policy(2).GetKafkaRules(TrafficDirection.Ingress, t.IdentityOf(3), 6, 9092)!;
        Assert.False(billing.Evaluate(KafkaApiKeys.Produce, 9, "c"u8, ref a).Allowed);
    }

    [Fact]
    public void PolicyChangesGiveNewSetsAndReadersKeepTheirRevision()
    {
        var t = Lab(Cnp("p", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])])));
        var before = t.Policy(2);
        var revision = t.Repository.Revision;
        t.Repository.Upsert(Cnp("p", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Http("80/TCP", new HttpRule(Method: "PUT"))])])));
        Assert.True(t.Repository.Revision > revision);
        Assert.True(Eval(before.GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80)!, "GET", "/").Allowed);
        var after = t.Policy(2).GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(1), 6, 80)!;
        Assert.False(Eval(after, "GET", "/").Allowed);
        Assert.True(Eval(after, "PUT", "/").Allowed);
    }
}
