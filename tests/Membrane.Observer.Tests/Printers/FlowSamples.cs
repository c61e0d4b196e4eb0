using System.Net;
using Membrane.Observer.Flows;
using Membrane.Policy.Model;

namespace Membrane.Observer.Tests.Printers;

/// <summary>A fixed set of flows covering every printer branch, shared by the golden tests.</summary>
internal static class FlowSamples
{
    public const string Node = "kind-worker";

    public static readonly PolicyRef UsersApiPolicy = new("CiliumNetworkPolicy", "default", "user-service-api-policy");
    public static readonly PolicyRef DenyWorld = new("CiliumClusterwideNetworkPolicy", null, "deny-icmp-to-world");
    public static readonly PolicyRef KafkaPolicy = new("CiliumNetworkPolicy", "kafka", "kafka-broker-policy");

    public static readonly LabelSet FrontendLabels = LabelSet.Parse("k8s:app=frontend,k8s:io.kubernetes.pod.namespace=default");
    public static readonly LabelSet UsersLabels = LabelSet.Parse("k8s:app=users,k8s:io.kubernetes.pod.namespace=default");
    public static readonly LabelSet WorldLabels = LabelSet.Parse("reserved:world");

    private static readonly long T0 = Flow.ToUnixNanos(new DateTimeOffset(2026, 1, 12, 10, 30, 1, TimeSpan.Zero)) + 123_456_789;

    public static FlowEndpoint Frontend => new()
    {
        Id = 1120,
        Identity = 1234,
        Namespace = "default",
        PodName = "frontend-xyz-1",
        Labels = FrontendLabels,
        Workloads = [new FlowWorkload("frontend", "Deployment")],
    };

    public static FlowEndpoint Users => new()
    {
        Id = 1121,
        Identity = 4321,
        Namespace = "default",
        PodName = "user-service-abc-2",
        Labels = UsersLabels,
    };

    public static FlowIP Ipv4 => new() { Source = IPAddress.Parse("10.0.1.12"), Destination = IPAddress.Parse("10.0.1.55") };

    /// <summary>The seed's scenario: DELETE denied by the users policy's L7 rules.</summary>
    public static Flow DeniedDelete => new()
    {
        TimeUnixNanos = T0,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e01"),
        Verdict = Verdict.Dropped,
        DropReason = DropReason.PolicyDenied,
        IP = Ipv4,
        L4 = Layer4.Tcp(49876, 80),
        Source = Frontend,
        Destination = Users,
        Type = FlowType.L7,
        NodeName = Node,
        L7 = new Layer7
        {
            Type = L7FlowType.Request,
            Http = new HttpInfo { Method = "DELETE", Url = "http://user-service/api/v1/users/123", Protocol = "HTTP/1.1" },
        },
        IsReply = false,
        EventType = new CiliumEventType(MonitorMessageType.AccessLog, 0),
        TrafficDirection = FlowTrafficDirection.Ingress,
        ProxyPort = 15080,
        IngressDeniedBy = [new FlowPolicy(UsersApiPolicy, 7, defaultDeny: true)],
    };

    public static Flow AllowedGet => DeniedDelete with
    {
        TimeUnixNanos = T0 + 1_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e02"),
        Verdict = Verdict.Forwarded,
        DropReason = DropReason.None,
        L7 = new Layer7
        {
            Type = L7FlowType.Request,
            Http = new HttpInfo
            {
                Method = "GET",
                Url = "http://user-service/api/v1/users/123?fields=name",
                Protocol = "HTTP/1.1",
                Headers = [new HttpHeader("X-Request-Source", "frontend-app")],
            },
        },
        IngressDeniedBy = null,
        IngressAllowedBy = [new FlowPolicy(UsersApiPolicy, 7)],
    };

    public static Flow GetResponse => AllowedGet with
    {
        TimeUnixNanos = T0 + 4_250_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e03"),
        IP = new FlowIP { Source = Ipv4.Destination, Destination = Ipv4.Source },
        L4 = Layer4.Tcp(80, 49876),
        Source = Users,
        Destination = Frontend,
        IsReply = true,
        L7 = new Layer7
        {
            Type = L7FlowType.Response,
            LatencyNs = 3_250_000,
            Http = new HttpInfo { Code = 200, Method = "GET", Url = "http://user-service/api/v1/users/123?fields=name", Protocol = "HTTP/1.1" },
        },
    };

    public static Flow PolicyVerdictAllowed => new()
    {
        TimeUnixNanos = T0 + 10_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e04"),
        Verdict = Verdict.Forwarded,
        IP = Ipv4,
        L4 = Layer4.Tcp(49876, 80, TcpFlags.Syn),
        Source = Frontend,
        Destination = Users,
        Type = FlowType.L3L4,
        NodeName = Node,
        IsReply = false,
        EventType = new CiliumEventType(MonitorMessageType.PolicyVerdict, 0),
        TrafficDirection = FlowTrafficDirection.Ingress,
        PolicyMatchType = PolicyMatchType.L3L4,
        Hash = 0x1f2e3d4c,
        IngressAllowedBy = [new FlowPolicy(UsersApiPolicy, 7)],
    };

    /// <summary>A datapath drop: world has no rule into users (default deny), attributed to the users policy.</summary>
    public static Flow WorldDropped => new()
    {
        TimeUnixNanos = T0 + 20_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e05"),
        Verdict = Verdict.Dropped,
        DropReason = DropReason.PolicyDenied,
        IP = new FlowIP { Source = IPAddress.Parse("203.0.113.9"), Destination = IPAddress.Parse("10.0.1.55") },
        L4 = Layer4.Tcp(49876, 80, TcpFlags.Syn),
        Source = new FlowEndpoint { Identity = 2, Labels = WorldLabels },
        Destination = Users,
        Type = FlowType.L3L4,
        NodeName = Node,
        IsReply = false,
        EventType = new CiliumEventType(MonitorMessageType.Drop, 133),
        TrafficDirection = FlowTrafficDirection.Ingress,
        File = new FlowFileInfo("bpf_lxc.c", 1294),
        Interface = new FlowInterface(29, "lxc1121"),
        Hash = 0x9a3c21f0,
        IngressDeniedBy = [new FlowPolicy(UsersApiPolicy, 7, defaultDeny: true)],
    };

    public static Flow TraceReply => new()
    {
        TimeUnixNanos = T0 + 30_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e06"),
        Verdict = Verdict.Forwarded,
        IP = new FlowIP { Source = Ipv4.Destination, Destination = Ipv4.Source },
        L4 = Layer4.Tcp(80, 49876, TcpFlags.Syn | TcpFlags.Ack),
        Source = Users,
        Destination = Frontend,
        Type = FlowType.L3L4,
        NodeName = Node,
        IsReply = true,
        EventType = new CiliumEventType(MonitorMessageType.Trace, 0),
        TraceObservationPoint = TraceObservationPoint.ToEndpoint,
        TraceReason = TraceReason.Reply,
        TrafficDirection = FlowTrafficDirection.Ingress,
        Interface = new FlowInterface(28, "lxc1120"),
        Hash = 0x2b3c4d5e,
    };

    public static Flow KafkaDenied => new()
    {
        TimeUnixNanos = T0 + 40_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e07"),
        Verdict = Verdict.Dropped,
        DropReason = DropReason.PolicyDenied,
        IP = new FlowIP { Source = IPAddress.Parse("10.0.2.7"), Destination = IPAddress.Parse("10.0.2.9") },
        L4 = Layer4.Tcp(40112, 9092),
        Source = new FlowEndpoint { Id = 2001, Identity = 5001, Namespace = "kafka", PodName = "shipping-7d9f", Labels = LabelSet.Parse("k8s:app=shipping") },
        Destination = new FlowEndpoint { Id = 2002, Identity = 5002, Namespace = "kafka", PodName = "kafka-broker-0", Labels = LabelSet.Parse("k8s:app=kafka-broker") },
        Type = FlowType.L7,
        NodeName = Node,
        L7 = new Layer7 { Type = L7FlowType.Request, Kafka = new KafkaInfo { ApiKey = 0, ApiVersion = 9, CorrelationId = 17, Topic = "orders-topic", ErrorCode = 29 } },
        IsReply = false,
        EventType = new CiliumEventType(MonitorMessageType.AccessLog, 0),
        TrafficDirection = FlowTrafficDirection.Ingress,
        ProxyPort = 15090,
        IngressDeniedBy = [new FlowPolicy(KafkaPolicy, 7, defaultDeny: true)],
    };

    public static Flow IcmpDenylisted => new()
    {
        TimeUnixNanos = T0 + 50_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e08"),
        Verdict = Verdict.Dropped,
        DropReason = DropReason.PolicyDenyList,
        IP = new FlowIP { Source = Ipv4.Source, Destination = IPAddress.Parse("198.51.100.1") },
        L4 = Layer4.IcmpV4(8, 0),
        Source = Frontend,
        Destination = new FlowEndpoint { Identity = 2, Labels = WorldLabels },
        Type = FlowType.L3L4,
        NodeName = Node,
        IsReply = false,
        EventType = new CiliumEventType(MonitorMessageType.PolicyVerdict, 0),
        TrafficDirection = FlowTrafficDirection.Egress,
        PolicyMatchType = PolicyMatchType.L3Only,
        Hash = 0x5,
        EgressDeniedBy = [new FlowPolicy(DenyWorld, 7)],
        PolicyLog = ["deny-icmp"],
    };

    public static Flow Ipv6UdpUnknownDirection => new()
    {
        TimeUnixNanos = T0 + 60_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e09"),
        Verdict = Verdict.Forwarded,
        IP = new FlowIP { Source = IPAddress.Parse("fd00::12"), Destination = IPAddress.Parse("fd00::55") },
        L4 = Layer4.Udp(5353, 53),
        Source = new FlowEndpoint { Identity = 1, Labels = LabelSet.Parse("reserved:host") },
        Destination = new FlowEndpoint { Identity = 70000 },
        Type = FlowType.L3L4,
        NodeName = Node,
        EventType = new CiliumEventType(MonitorMessageType.Trace, 5),
        TraceObservationPoint = TraceObservationPoint.FromEndpoint,
        TraceReason = TraceReason.New,
        Hash = 0x77,
    };

    /// <summary>A request whose URL carries terminal escape sequences: printers must not pass them through.</summary>
    public static Flow HostileUrl => DeniedDelete with
    {
        TimeUnixNanos = T0 + 70_000_000,
        Uuid = Guid.Parse("6f1c1b0e-2a4b-4c3d-8e5f-0a1b2c3d4e0a"),
        Verdict = Verdict.Error,
        DropReason = DropReason.None,
        L7 = new Layer7 { Type = L7FlowType.Request, Http = new HttpInfo { Method = "GET", Url = "http://user-service/\u001b[2J\u001b]0;owned\u0007", Protocol = "HTTP/1.1" } },
        IngressDeniedBy = null,
    };

    public static FlowResponse Lost => new(new LostEvents(LostEventSource.HubbleRingBuffer, 42), Node, T0 + 80_000_000);

    public static IReadOnlyList<FlowResponse> All =>
    [
        new(DeniedDelete), new(AllowedGet), new(GetResponse), new(PolicyVerdictAllowed), new(WorldDropped), new(TraceReply),
        new(KafkaDenied), new(IcmpDenylisted), new(Ipv6UdpUnknownDirection), new(HostileUrl), Lost,
    ];
}
