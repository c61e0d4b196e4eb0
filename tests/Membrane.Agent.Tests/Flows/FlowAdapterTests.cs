using System.Collections.Immutable;
using System.Net;
using Membrane.Agent.Endpoints;
using Membrane.Agent.Flows;
using Membrane.Agent.State;
using Membrane.Agent.Tests.Support;
using Membrane.Datapath.Events;
using Membrane.Observer;
using Membrane.Observer.Flows;
using Membrane.Observer.Printers;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;
using Membrane.Proxy;
using Membrane.Tests.Shared;
using DropReason = Membrane.Datapath.Events.DropReason;
using TrafficDirection = Membrane.Policy.Model.TrafficDirection;

namespace Membrane.Agent.Tests.Flows;

/// <summary>
/// Kernel events and proxy events become Hubble flows with the right fields, and every flow names the policy that
/// decided it: the cookie's policies, or for a default-deny drop the policies that enabled default deny.
/// </summary>
public sealed class FlowAdapterTests
{
    private static readonly PolicyRef UsersL4 = new("CiliumNetworkPolicy", "default", "users-l4");

    private readonly PolicyRepository _repository = new(new LocalIdentityAllocator(), new InMemoryIpCache());
    private readonly FlowPolicyCache _policies = new();
    private readonly FlowObserver _observer = new(64);
    private readonly AgentView _view;
    private readonly EndpointView _frontend;
    private readonly EndpointView _users;

    public FlowAdapterTests()
    {
        _repository.ReplaceAll(PolicyLoader.LoadText(TestPolicies.UsersL4, "users-l4.yaml").Policies);
        _frontend = Endpoint(1, "frontend", "10.244.1.11");
        _users = Endpoint(2, "users", "10.244.1.12");
        _view = new AgentView([_frontend, _users],
            ReservedIdentities.Identities.Select(i => KeyValuePair.Create(i.Key.Value, i.Value)), policyRevision: 7);
        _policies.Reset(7);
    }

    [Fact]
    public void A_default_deny_drop_names_the_policies_that_enabled_default_deny()
    {
        var flow = Datapath().ToFlow(Event(DatapathEventType.Drop, DropReason.PolicyDenied, source: "10.244.1.13", identity: 2, cookie: 0));

        Assert.Equal(Verdict.Dropped, flow.Verdict);
        Assert.Equal(133, flow.DropReason.Code);
        Assert.Equal(new CiliumEventType(MonitorMessageType.Drop, 133), flow.EventType);
        Assert.Equal(FlowTrafficDirection.Ingress, flow.TrafficDirection);
        var by = Assert.Single(flow.IngressDeniedBy!);
        Assert.Equal(UsersL4, by.Policy);
        Assert.True(by.DefaultDeny);
        Assert.Equal(7ul, by.Revision);
        Assert.Contains(FlowPolicy.DefaultDenyLabel, by.Labels);
        Assert.Null(flow.EgressDeniedBy);
        Assert.Equal("users", flow.Destination.PodName);
        Assert.Equal((uint)2, flow.Destination.Id);
        Assert.Equal(2u, flow.Source.Identity);
        Assert.Equal("reserved:world", Assert.Single(flow.Source.Labels!).ToString());
    }

    [Fact]
    public void Allowed_and_explicitly_denied_traffic_names_the_policies_of_the_kernel_cookie()
    {
        var allowed = Datapath().ToFlow(Event(DatapathEventType.PolicyVerdict, DropReason.None, verdict: PolicyVerdict.Allow, cookie: 42, policies: [UsersL4]));
        Assert.Equal(Verdict.Forwarded, allowed.Verdict);
        Assert.Equal(new CiliumEventType(MonitorMessageType.PolicyVerdict, 0), allowed.EventType);
        Assert.Equal(Membrane.Observer.Flows.PolicyMatchType.L3L4, allowed.PolicyMatchType);
        Assert.Equal(UsersL4, Assert.Single(allowed.IngressAllowedBy!).Policy);
        Assert.False(allowed.IngressAllowedBy![0].DefaultDeny);
        Assert.Equal("frontend", allowed.Source.PodName);

        var denied = Datapath().ToFlow(Event(DatapathEventType.Drop, DropReason.PolicyDeny, cookie: 43, policies: [UsersL4]));
        Assert.Equal(181, denied.DropReason.Code);
        Assert.Equal("POLICY_DENY", denied.DropReason.HubbleName);
        Assert.False(Assert.Single(denied.IngressDeniedBy!).DefaultDeny);

        // Interned: the same cookie gives the same list, so writing flows allocates no new one.
        var again = Datapath().ToFlow(Event(DatapathEventType.PolicyVerdict, DropReason.None, verdict: PolicyVerdict.Allow, cookie: 42, policies: [UsersL4]));
        Assert.Same(allowed.IngressAllowedBy, again.IngressAllowedBy);
    }

    [Fact]
    public void Trace_events_carry_the_observation_point_and_reason()
    {
        var flow = Datapath().ToFlow(Event(DatapathEventType.Trace, point: Membrane.Datapath.Events.TraceObservationPoint.ToEndpoint,
            traceReason: Membrane.Datapath.Events.TraceReason.Reply, reply: true));
        Assert.Equal(Verdict.Forwarded, flow.Verdict);
        Assert.Equal(Membrane.Observer.Flows.TraceObservationPoint.ToEndpoint, flow.TraceObservationPoint);
        Assert.Equal(Membrane.Observer.Flows.TraceReason.Reply, flow.TraceReason);
        Assert.Equal(new CiliumEventType(MonitorMessageType.Trace, 0), flow.EventType);
        Assert.True(flow.IsReply);
        Assert.Equal(new FlowInterface(29, "mah2"), flow.Interface);
    }

    [Fact]
    public void A_denied_HTTP_request_is_a_dropped_L7_flow_naming_the_policy_in_default_deny_and_prints_like_the_seed()
    {
        var sink = new ProxyFlowSink(_observer, _policies, "node-1");
        var request = new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = Flow.ToUnixNanos(new DateTimeOffset(2026, 1, 12, 10, 30, 1, 123, TimeSpan.Zero)),
            Connection = new ConnectionInfo(new IPEndPoint(_frontend.Address, 49876), new IPEndPoint(_users.Address, 80), ProxyMode.Transparent, 15080),
            Policy = Connection(),
            Verdict = L7Verdict.Denied,
            DecidedBy = UsersL4,
            DeniedDirection = TrafficDirection.Ingress,
            HttpMethod = "DELETE",
            HttpUrl = "http://10.244.1.12/api/v1/users/123",
            HttpProtocol = "HTTP/1.1",
        };
        var flow = sink.ToFlow(request);

        Assert.Equal(Verdict.Dropped, flow.Verdict);
        Assert.Equal(FlowType.L7, flow.Type);
        Assert.Equal(L7FlowType.Request, flow.L7!.Value.Type);
        Assert.Equal("DELETE", flow.L7.Value.Http!.Value.Method);
        Assert.Equal(133, flow.DropReason.Code);
        Assert.Equal(new CiliumEventType(MonitorMessageType.AccessLog, 0), flow.EventType);
        Assert.True(Assert.Single(flow.IngressDeniedBy!).DefaultDeny);
        Assert.Equal(15080u, flow.ProxyPort);

        var monitor = new StringWriter { NewLine = "\n" };
        new MonitorPrinter(monitor, kinds: MonitorEventKinds.Drop).Write(new FlowResponse(flow));
        // The proxy's flow carries the connection's hash, the value the kernel's events of the same connection carry.
        Assert.Equal(FlowHash.Of(_users.Address, 80, _frontend.Address, 49876, 6), flow.Hash);
        Assert.NotEqual(0u, flow.Hash);
        Assert.Matches($@"^xx drop \(Policy denied\) flow 0x{flow.Hash:x} to endpoint 2, identity \d+->\d+: 10\.244\.1\.11:49876 -> 10\.244\.1\.12:80 tcp HTTP/1\.1 DELETE .*/api/v1/users/123\n$",
            monitor.ToString());

        var table = new StringWriter { NewLine = "\n" };
        var printer = FlowPrinters.Create(OutputFormat.Table, table);
        printer.Write(new FlowResponse(flow));
        printer.Flush();
        Assert.Contains("default/frontend:49876", table.ToString());
        Assert.Contains("L7_REQUEST", table.ToString());
        Assert.Contains("DROPPED", table.ToString());
        Assert.Contains("(Policy denied)", table.ToString());

        var response = sink.ToFlow(request with { Kind = L7EventKind.HttpResponse, Verdict = L7Verdict.Denied, HttpStatus = 403, LatencyNs = 250_000 });
        Assert.Equal(Verdict.Forwarded, response.Verdict);
        Assert.Equal(L7FlowType.Response, response.L7!.Value.Type);
        Assert.Equal(403u, response.L7.Value.Http!.Value.Code);
        Assert.True(response.IsReply);
        Assert.Null(response.IngressAllowedBy);
    }

    [Fact]
    public void Kafka_errors_and_L4_denials_of_the_proxy_become_flows()
    {
        var sink = new ProxyFlowSink(_observer, _policies, "node-1");
        var connection = new ConnectionInfo(new IPEndPoint(_frontend.Address, 40000), new IPEndPoint(_users.Address, 9092), ProxyMode.Transparent, 15090);
        var kafka = sink.ToFlow(new L7Event
        {
            Kind = L7EventKind.KafkaRequest,
            TimestampUnixNs = 1,
            Connection = connection,
            Policy = Connection(),
            Verdict = L7Verdict.Denied,
            DecidedBy = UsersL4,
            DeniedDirection = TrafficDirection.Ingress,
            KafkaApiKey = 0,
            KafkaApiVersion = 7,
            KafkaCorrelationId = 5,
            KafkaTopics = ["orders-topic"],
        });
        Assert.Equal("orders-topic", kafka.L7!.Value.Kafka!.Value.Topic);
        Assert.Equal(Verdict.Dropped, kafka.Verdict);
        Assert.Null(kafka.L7!.Value.Kafka!.Value.DeniedTopics);

        // A request naming allowed and denied topics is forwarded without the denied ones (split as a broker with ACLs
        // would): the flow is forwarded and says which topics were denied, in its summary too.
        var split = sink.ToFlow(new L7Event
        {
            Kind = L7EventKind.KafkaRequest,
            TimestampUnixNs = 1,
            Connection = connection,
            Policy = Connection(),
            Verdict = L7Verdict.Forwarded,
            DecidedBy = UsersL4,
            DeniedDirection = TrafficDirection.Ingress,
            KafkaApiKey = 1,
            KafkaApiVersion = 12,
            KafkaCorrelationId = 6,
            KafkaErrorCode = 29,
            KafkaTopics = ["orders-topic", "secrets", "audit"],
            KafkaDeniedTopics = ["secrets", "audit"],
        });
        Assert.Equal(Verdict.Forwarded, split.Verdict);
        Assert.Equal("secrets,audit", split.L7!.Value.Kafka!.Value.DeniedTopics);
        Assert.Equal("Kafka request fetch correlation id 6 topic 'orders-topic' denied topics 'secrets,audit'", FlowText.Summary(split));

        var error = sink.ToFlow(new L7Event
        {
            Kind = L7EventKind.ProtocolError,
            TimestampUnixNs = 1,
            Connection = connection,
            Policy = Connection(),
            Verdict = L7Verdict.Error,
            Detail = "duplicate Content-Length",
        });
        Assert.Equal(Verdict.Error, error.Verdict);
        Assert.Equal("duplicate Content-Length", error.Summary);

        var closed = sink.ToFlow(new L7Event
        {
            Kind = L7EventKind.ConnectionDenied,
            TimestampUnixNs = 1,
            Connection = connection,
            Policy = Connection() is var p ? new ConnectionPolicy
            {
                Revision = p.Revision, Source = p.Source, Destination = p.Destination, DestinationPort = 9092, L4Allowed = false,
                L4DecidedBy = [UsersL4],
            } : null,
            Verdict = L7Verdict.Denied,
            DeniedDirection = TrafficDirection.Ingress,
        });
        Assert.Equal(FlowType.L3L4, closed.Type);
        Assert.Null(closed.L7);
        Assert.Equal(new CiliumEventType(MonitorMessageType.Drop, 133), closed.EventType);
        Assert.Equal(UsersL4, Assert.Single(closed.IngressDeniedBy!).Policy);
    }

    [Fact]
    public void Enforcement_mode_always_names_itself_when_no_policy_selects_the_endpoint()
    {
        var g = new FlowPolicyCache();
        g.Reset(3);
        var entry = Assert.Single(g.ForDefaultDeny([], enforcedByMode: true)!);
        Assert.Equal("policy-enforcement-always", entry.Name);
        Assert.Equal(FlowPolicy.MembraneKind, entry.Kind);
        Assert.True(entry.DefaultDeny);
        Assert.Null(g.ForDefaultDeny([], enforcedByMode: false));

        var first = g.ForPolicy(UsersL4, defaultDeny: false);
        Assert.Same(first, g.ForPolicy(UsersL4, defaultDeny: false));
        g.Reset(4);
        Assert.Equal(4ul, g.ForPolicy(UsersL4, defaultDeny: false)[0].Revision);
    }

    [Fact]
    public void Adapting_and_publishing_an_event_allocates_nothing_once_the_policy_lists_are_interned()
    {
        var datapath = Datapath();
        var sink = new ProxyFlowSink(_observer, _policies, "node-1");
        var drop = Event(DatapathEventType.Drop, DropReason.PolicyDenied, source: "10.244.1.13", identity: 2);
        var request = new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = 1,
            Connection = new ConnectionInfo(new IPEndPoint(_frontend.Address, 49876), new IPEndPoint(_users.Address, 80), ProxyMode.Transparent, 15080),
            Policy = Connection(),
            Verdict = L7Verdict.Denied,
            DecidedBy = UsersL4,
            DeniedDirection = TrafficDirection.Ingress,
            HttpMethod = "DELETE",
            HttpUrl = "http://10.244.1.12/api/v1/users/123",
            HttpProtocol = "HTTP/1.1",
        };
        for (var i = 0; i < 100; i++)
        {
            _observer.Publish(datapath.ToFlow(drop));
            sink.Publish(request);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _observer.Publish(datapath.ToFlow(drop));
            sink.Publish(request);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private DatapathFlowAdapter Datapath() =>
        new(_observer, () => _view, _repository.GetEndpointPolicy, _policies, enforcementAlways: false, "node-1");

    private ConnectionPolicy Connection() => new()
    {
        Revision = 1,
        Source = _frontend.Peer,
        Destination = _users.Peer,
        DestinationPort = 80,
        L4Allowed = true,
    };

    private EndpointView Endpoint(ushort id, string pod, string ip)
    {
        var state = new EndpointState
        {
            Id = id,
            PodName = pod,
            Namespace = "default",
            Labels = new() { ["app"] = pod },
            InterfaceName = $"mah{id}",
            IPv4 = ip,
        };
        _repository.UpsertEndpoint(new EndpointInfo(id, pod, "default", LabelSet.Parse($"app={pod}"), IPAddress.Parse(ip), []));
        var policy = _repository.GetEndpointPolicy(id)!;
        return new EndpointView(state, policy.Identity, policy.Endpoint.IdentityLabels, IPAddress.Parse(ip));
    }

    private DatapathEvent Event(DatapathEventType type, DropReason reason = DropReason.None, string source = "10.244.1.11", uint identity = 0,
        uint cookie = 0, ImmutableArray<PolicyRef> policies = default, PolicyVerdict? verdict = null,
        Membrane.Datapath.Events.TraceObservationPoint point = Membrane.Datapath.Events.TraceObservationPoint.Unknown,
        Membrane.Datapath.Events.TraceReason traceReason = Membrane.Datapath.Events.TraceReason.Unknown, bool reply = false) => new()
        {
            Type = type,
            Time = new DateTimeOffset(2026, 1, 12, 10, 30, 1, TimeSpan.Zero),
            DropReason = reason,
            Verdict = verdict,
            ObservationPoint = point,
            TraceReason = traceReason,
            MatchType = verdict is null ? Membrane.Datapath.Events.PolicyMatchType.None : Membrane.Datapath.Events.PolicyMatchType.L3L4,
            Direction = TrafficDirection.Ingress,
            EndpointId = 2,
            SourceIdentity = new NumericIdentity(identity == 0 ? _frontend.Identity.Value : identity),
            DestinationIdentity = _users.Identity,
            Source = IPAddress.Parse(source),
            Destination = _users.Address,
            Protocol = 6,
            SourcePort = 49876,
            DestinationPort = 80,
            TcpFlags = Membrane.Datapath.TcpFlags.Syn,
            IsReply = reply,
            InterfaceIndex = 29,
            InterfaceName = "mah2",
            PolicyCookie = cookie,
            Policies = policies.IsDefault ? ImmutableArray<PolicyRef>.Empty : policies,
        };
}
