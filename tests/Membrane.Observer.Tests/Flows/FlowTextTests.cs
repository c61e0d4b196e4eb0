using Membrane.Observer.Flows;

namespace Membrane.Observer.Tests.Flows;

public sealed class FlowTextTests
{
    [Theory]
    [InlineData(TcpFlags.Syn, "SYN")]
    [InlineData(TcpFlags.Syn | TcpFlags.Ack, "SYN, ACK")]
    [InlineData(TcpFlags.Psh | TcpFlags.Ack, "ACK, PSH")]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack, "ACK, FIN")]
    [InlineData(TcpFlags.Ns | TcpFlags.Cwr | TcpFlags.Ece | TcpFlags.Urg | TcpFlags.Rst, "RST, URG, ECE, CWR, NS")]
    [InlineData(TcpFlags.None, "")]
    public void Tcp_flags_in_hubbles_order(TcpFlags flags, string expected) => Assert.Equal(expected, FlowText.TcpFlagList(flags));

    [Theory]
    [InlineData(false, 8, 0, "EchoRequest")]
    [InlineData(false, 0, 0, "EchoReply")]
    [InlineData(false, 3, 3, "DestinationUnreachable(Port)")]
    [InlineData(false, 3, 99, "DestinationUnreachable(Code: 99)")]
    [InlineData(false, 8, 1, "EchoRequest(Code: 1)")]
    [InlineData(false, 200, 7, "200(7)")]
    [InlineData(true, 128, 0, "EchoRequest")]
    [InlineData(true, 135, 0, "NeighborSolicitation")]
    [InlineData(true, 1, 4, "DestinationUnreachable(PortUnreachable)")]
    public void Icmp_type_codes_as_gopacket_names_them(bool v6, byte type, byte code, string expected) =>
        Assert.Equal(expected, FlowText.IcmpTypeCode(v6, type, code));

    [Theory]
    [InlineData(0u, "unknown")]
    [InlineData(1u, "host")]
    [InlineData(2u, "world")]
    [InlineData(6u, "remote-node")]
    [InlineData(4321u, "4321")]
    public void Identities_use_reserved_names(uint identity, string expected) => Assert.Equal(expected, FlowText.Identity(identity));

    [Theory]
    [InlineData("http://users/api/v1/users/123?x=1#f", "/api/v1/users/123")]
    [InlineData("http://users", "")]
    [InlineData("http://users/", "/")]
    [InlineData("/plain/path?q", "/plain/path")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Url_path_is_what_http_path_filters_match(string? url, string expected) =>
        Assert.Equal(expected, HttpInfo.UrlPath(url).ToString());

    [Fact]
    public void Producer_summary_wins_over_the_derived_one() =>
        Assert.Equal("custom", FlowText.Summary(new Flow { Summary = "custom", L4 = Layer4.Udp(1, 2) }));

    [Fact]
    public void Summaries_follow_hubbles_parsers()
    {
        Assert.Equal("UDP", FlowText.Summary(new Flow { L4 = Layer4.Udp(1, 2) }));
        Assert.Equal("SCTP", FlowText.Summary(new Flow { L4 = Layer4.Sctp(1, 2) }));
        Assert.Equal("ICMPv6 EchoReply", FlowText.Summary(new Flow { L4 = Layer4.IcmpV6(129, 0) }));
        Assert.Equal("TCP Flags: SYN", FlowText.Summary(new Flow { L4 = Layer4.Tcp(1, 2, TcpFlags.Syn) }));
        Assert.Equal(
            "Kafka response fetch correlation id 3 topic 't' return code 29",
            FlowText.Summary(new Flow { L7 = new Layer7 { Type = L7FlowType.Response, Kafka = new KafkaInfo { ApiKey = 1, CorrelationId = 3, Topic = "t", ErrorCode = 29 } } }));
        Assert.Equal("Kafka request 47 correlation id 0 topic ''", FlowText.Summary(new Flow { L7 = new Layer7 { Type = L7FlowType.Request, Kafka = new KafkaInfo { ApiKey = 47 } } }));
    }

    [Fact]
    public void Flow_protocol_prefers_l7()
    {
        Assert.Equal("HTTP", FlowText.Protocol(new Flow { L4 = Layer4.Tcp(1, 2), L7 = new Layer7 { Http = new HttpInfo() } }));
        Assert.Equal("Kafka", FlowText.Protocol(new Flow { L7 = new Layer7 { Kafka = new KafkaInfo() } }));
        Assert.Equal("ICMPv4", FlowText.Protocol(new Flow { L4 = Layer4.IcmpV4(8, 0) }));
        Assert.Equal("Unknown flow", FlowText.Protocol(default));
    }

    [Fact]
    public void Monitor_sub_types_map_to_hubble_observation_points()
    {
        Assert.Equal(TraceObservationPoint.ToEndpoint, MonitorMessageType.TraceObservationPointFromSubType(0));
        Assert.Equal(TraceObservationPoint.FromEndpoint, MonitorMessageType.TraceObservationPointFromSubType(5));
        Assert.Equal(TraceObservationPoint.ToCrypto, MonitorMessageType.TraceObservationPointFromSubType(13));
        Assert.Equal(TraceObservationPoint.Unknown, MonitorMessageType.TraceObservationPointFromSubType(99));
        foreach (var name in MonitorMessageType.TraceSubTypeNames)
        {
            Assert.True(MonitorMessageType.TryParseTraceSubType(name, out var sub));
            Assert.Equal(sub, MonitorMessageType.SubTypeFromTraceObservationPoint(MonitorMessageType.TraceObservationPointFromSubType(sub)));
        }

        Assert.Equal("policy-verdict", MonitorMessageType.NameOf(5));
        Assert.Equal("l7", MonitorMessageType.NameOf(129));
        Assert.True(MonitorMessageType.TryParse("drop", out var drop) && drop == 1);
    }
}
