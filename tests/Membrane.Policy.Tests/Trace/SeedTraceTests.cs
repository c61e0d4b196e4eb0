using System.Net;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Trace;

namespace Membrane.Policy.Tests.Trace;

/// <summary>The seed document's expected outcomes, traced through parser, repository, lookup and L7 rules.</summary>
public sealed class SeedTraceTests
{
    private static readonly IReadOnlyList<PolicyResource> Seed = LoadSeed();

    private static IReadOnlyList<PolicyResource> LoadSeed()
    {
        var result = PolicyLoader.LoadPaths([RepoPaths.Of("examples", "seed")]);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Policies;
    }

    private static TraceResult Http(string from, string to, ushort port, string method, string path, string ns = "default", params KeyValuePair<string, string>[] headers) =>
        PolicyTracer.Trace(Seed, new TraceRequest(
            new TracePeer(LabelSet.Parse(from), ns),
            new TracePeer(LabelSet.Parse(to), ns),
            6,
            port,
            Http: new HttpTraceRequest(method, path, "", headers)));

    private static TraceResult Kafka(string from, string role, string topic = "orders-topic") =>
        PolicyTracer.Trace(Seed, new TraceRequest(
            new TracePeer(LabelSet.Parse(from), "kafka"),
            new TracePeer(LabelSet.Parse("app=kafka-broker"), "kafka"),
            6,
            9092,
            Kafka: new KafkaTraceRequest(role, null, null, topic, null)));

    [Fact]
    public void FrontendGetUserIsAllowedThroughTheProxy()
    {
        var r = Http("app=frontend", "app=users", 80, "GET", "/api/v1/users/123");
        Assert.Equal(TraceVerdict.Allowed, r.Verdict);
        Assert.Equal(LookupVerdict.Allowed, r.Egress!.Verdict);
        Assert.False(r.Egress.Enforced);
        Assert.Equal(LookupVerdict.Redirected, r.Ingress!.Verdict);
        Assert.Equal(L7Protocol.Http, r.Ingress.L7!.Protocol);
        Assert.True(r.Ingress.L7.Allowed);
        Assert.Equal("default/user-service-api-policy", r.Ingress.L7.DecidedBy!.QualifiedName);
        Assert.Equal(
            ["default/user-service-api-policy", "default/user-service-header-policy"],
            r.Ingress.L7.Policies.Select(p => p.QualifiedName));
        Assert.Equal(
            ["default/user-service-api-policy", "default/user-service-header-policy"],
            r.Ingress.DefaultDenyBy.Select(p => p.QualifiedName));
    }

    [Fact]
    public void FrontendDeleteUserIsDeniedAtL7()
    {
        var r = Http("app=frontend", "app=users", 80, "DELETE", "/api/v1/users/123");
        Assert.Equal(TraceVerdict.Denied, r.Verdict);
        Assert.Equal(LookupVerdict.Redirected, r.Ingress!.Verdict);
        Assert.False(r.Ingress.L7!.Allowed);
        Assert.Contains("403", r.Ingress.L7.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void BillingPostPaymentIsAllowedAndBillingGetUserIsDenied()
    {
        Assert.Equal(TraceVerdict.Allowed, Http("app=billing", "app=users", 80, "POST", "/api/v1/payments").Verdict);
        Assert.Equal(TraceVerdict.Denied, Http("app=billing", "app=users", 80, "GET", "/api/v1/users/1").Verdict);
    }

    [Fact]
    public void UnlistedPodIsDroppedByDefaultDenyNamingThePolicies()
    {
        var r = Http("app=intruder", "app=users", 80, "GET", "/api/v1/users/1");
        Assert.Equal(TraceVerdict.Denied, r.Verdict);
        Assert.Equal(LookupVerdict.Denied, r.Ingress!.Verdict);
        Assert.Equal(PolicyDropReason.PolicyDenied, r.Ingress.DropReason);
        Assert.Null(r.Ingress.MatchedKey);
        Assert.Equal(2, r.Ingress.DefaultDenyBy.Count);
    }

    [Fact]
    public void RecoGetProductIsAllowedAndUpdateStockDenied()
    {
        const string Service = "/com.example.catalog.ProductService/";
        Assert.Equal(TraceVerdict.Allowed, Http("app=reco", "app=catalog", 50051, "POST", Service + "GetProduct").Verdict);
        Assert.Equal(TraceVerdict.Denied, Http("app=reco", "app=catalog", 50051, "POST", Service + "UpdateStock").Verdict);
        Assert.Equal(TraceVerdict.Allowed, Http("app=inventory", "app=catalog", 50051, "POST", Service + "UpdateStock").Verdict);
        Assert.Equal(TraceVerdict.Denied, Http("app=inventory", "app=catalog", 50051, "POST", Service + "GetProduct").Verdict);
    }

    [Fact]
    public void KafkaTopicAuthorization()
    {
        Assert.Equal(TraceVerdict.Allowed, Kafka("app=orders", "produce").Verdict);
        Assert.Equal(TraceVerdict.Allowed, Kafka("app=shipping", "consume").Verdict);
        var shippingProduce = Kafka("app=shipping", "produce");
        Assert.Equal(TraceVerdict.Denied, shippingProduce.Verdict);
        Assert.Contains("TOPIC_AUTHORIZATION_FAILED", shippingProduce.Ingress!.L7!.Detail, StringComparison.Ordinal);
        Assert.Equal(TraceVerdict.Denied, Kafka("app=orders", "produce", topic: "payments").Verdict);
        var other = Kafka("app=analytics", "consume");
        Assert.Equal(TraceVerdict.Denied, other.Verdict);
        Assert.Equal(PolicyDropReason.PolicyDenied, other.Ingress!.DropReason);
    }

    [Fact]
    public void SameLabelsInAnotherNamespaceAreNotAllowed()
    {
        var r = PolicyTracer.Trace(Seed, new TraceRequest(
            new TracePeer(LabelSet.Parse("app=orders"), "default"),
            new TracePeer(LabelSet.Parse("app=kafka-broker"), "kafka"),
            6,
            9092));
        Assert.Equal(TraceVerdict.Denied, r.Verdict);
    }

    [Fact]
    public void WorldAddressIsDeniedAtTheUsersIngress()
    {
        var r = PolicyTracer.Trace(Seed, new TraceRequest(
            new TracePeer(null, Address: IPAddress.Parse("203.0.113.9")),
            new TracePeer(LabelSet.Parse("app=users")),
            6,
            80));
        Assert.Null(r.Egress);
        Assert.Equal(2u, r.Source.Identity.Value);
        Assert.Equal(TraceVerdict.Denied, r.Verdict);
    }
}
