using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Membrane.Observer.Flows;
using Membrane.Observer.Printers;

namespace Membrane.Observer.Tests.Printers;

public sealed class HubbleJsonTests
{
    private static readonly (Dictionary<string, HashSet<string>> Messages, Dictionary<string, HashSet<string>> Enums) Proto = LoadProto();

    // Which message each field holds; fields not listed hold scalars or string lists.
    private static readonly Dictionary<(string Message, string Field), string> Nested = new()
    {
        [("GetFlowsResponse", "flow")] = "Flow",
        [("GetFlowsResponse", "lost_events")] = "LostEvent",
        [("Flow", "IP")] = "IP",
        [("Flow", "l4")] = "Layer4",
        [("Flow", "source")] = "Endpoint",
        [("Flow", "destination")] = "Endpoint",
        [("Flow", "l7")] = "Layer7",
        [("Flow", "event_type")] = "CiliumEventType",
        [("Flow", "source_service")] = "Service",
        [("Flow", "destination_service")] = "Service",
        [("Flow", "interface")] = "NetworkInterface",
        [("Flow", "file")] = "FileInfo",
        [("Flow", "egress_allowed_by")] = "Policy",
        [("Flow", "ingress_allowed_by")] = "Policy",
        [("Flow", "egress_denied_by")] = "Policy",
        [("Flow", "ingress_denied_by")] = "Policy",
        [("Layer4", "TCP")] = "TCP",
        [("Layer4", "UDP")] = "UDP",
        [("Layer4", "SCTP")] = "SCTP",
        [("Layer4", "ICMPv4")] = "ICMPv4",
        [("Layer4", "ICMPv6")] = "ICMPv6",
        [("TCP", "flags")] = "TCPFlags",
        [("Endpoint", "workloads")] = "Workload",
        [("Layer7", "http")] = "HTTP",
        [("Layer7", "kafka")] = "Kafka",
        [("HTTP", "headers")] = "HTTPHeader",
    };

    private static readonly Dictionary<(string Message, string Field), string> EnumFields = new()
    {
        [("Flow", "verdict")] = "Verdict",
        [("Flow", "Type")] = "FlowType",
        [("Flow", "traffic_direction")] = "TrafficDirection",
        [("Flow", "trace_observation_point")] = "TraceObservationPoint",
        [("Flow", "trace_reason")] = "TraceReason",
        [("Flow", "drop_reason_desc")] = "DropReason",
        [("Flow", "auth_type")] = "AuthType",
        [("IP", "ipVersion")] = "IPVersion",
        [("Layer7", "type")] = "L7FlowType",
        [("LostEvent", "source")] = "LostEventSource",
    };

    // protojson writes 64-bit integers as strings.
    private static readonly HashSet<(string, string)> Int64Fields =
        [("Layer7", "latency_ns"), ("Policy", "revision"), ("LostEvent", "num_events_lost"), ("Flow", "socket_cookie"), ("Flow", "cgroup_id")];

    [Fact]
    public void Every_key_and_enum_value_is_one_of_hubbles()
    {
        foreach (var response in FlowSamples.All)
        {
            using var doc = JsonDocument.Parse(HubbleJson.Serialize(response));
            Check("GetFlowsResponse", doc.RootElement, "$");
        }
    }

    [Fact]
    public void Every_drop_reason_name_in_the_table_is_hubbles()
    {
        foreach (var row in DropReasons.All.Where(r => r.HubbleName is not null))
        {
            Assert.Contains(row.HubbleName!, Proto.Enums["DropReason"]);
        }

        Assert.Equal(Proto.Enums["DropReason"].Count, DropReasons.All.Count(r => r.HubbleName is not null));
    }

    [Fact]
    public void Every_enum_name_the_model_can_produce_is_hubbles()
    {
        Assert.All(Enum.GetValues<Verdict>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["Verdict"]));
        Assert.All(Enum.GetValues<FlowType>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["FlowType"]));
        Assert.All(Enum.GetValues<L7FlowType>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["L7FlowType"]));
        Assert.All(Enum.GetValues<FlowTrafficDirection>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["TrafficDirection"]));
        Assert.All(Enum.GetValues<IPVersion>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["IPVersion"]));
        Assert.All(Enum.GetValues<AuthType>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["AuthType"]));
        Assert.All(Enum.GetValues<TraceObservationPoint>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["TraceObservationPoint"]));
        Assert.All(Enum.GetValues<TraceReason>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["TraceReason"]));
        Assert.All(Enum.GetValues<LostEventSource>(), v => Assert.Contains(HubbleNames.Of(v)!, Proto.Enums["LostEventSource"]));
    }

    [Fact]
    public void A_denied_flow_names_its_policy_where_jq_scripts_for_hubble_look()
    {
        using var doc = JsonDocument.Parse(HubbleJson.Serialize(new FlowResponse(FlowSamples.WorldDropped)));
        var flow = doc.RootElement.GetProperty("flow");
        Assert.Equal("DROPPED", flow.GetProperty("verdict").GetString());
        Assert.Equal("POLICY_DENIED", flow.GetProperty("drop_reason_desc").GetString());
        var denied = flow.GetProperty("ingress_denied_by")[0];
        Assert.Equal("user-service-api-policy", denied.GetProperty("name").GetString());
        Assert.Equal("default", denied.GetProperty("namespace").GetString());
        Assert.Equal("CiliumNetworkPolicy", denied.GetProperty("kind").GetString());
        Assert.Equal("7", denied.GetProperty("revision").GetString());
        Assert.Contains(FlowPolicy.DefaultDenyLabel, denied.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("kind-worker", doc.RootElement.GetProperty("node_name").GetString());
    }

    [Fact]
    public void Default_values_are_left_out()
    {
        var json = HubbleJson.Serialize(new FlowResponse(new Flow
        {
            TimeUnixNanos = 1_000_000_000,
            IP = new FlowIP { Source = IPAddress.Loopback, Destination = IPAddress.Loopback },
        }));
        Assert.Equal(
            """{"flow":{"time":"1970-01-01T00:00:01Z","IP":{"source":"127.0.0.1","destination":"127.0.0.1","ipVersion":"IPv4"},"source":{},"destination":{},"Summary":"IPv4"},"time":"1970-01-01T00:00:01Z"}""",
            json);
    }

    [Theory]
    [InlineData(1_000_000_000L, "1970-01-01T00:00:01Z")]
    [InlineData(1_500_000_000L, "1970-01-01T00:00:01.500Z")]
    [InlineData(1_000_001_000L, "1970-01-01T00:00:01.000001Z")]
    [InlineData(1_000_000_001L, "1970-01-01T00:00:01.000000001Z")]
    public void Timestamps_use_0_3_6_or_9_fraction_digits_like_protojson(long nanos, string expected) =>
        Assert.Equal(expected, HubbleJson.Timestamp(nanos));

    private static void Check(string message, JsonElement element, string path)
    {
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        var fields = Proto.Messages[message];
        foreach (var property in element.EnumerateObject())
        {
            var where = $"{path}.{property.Name}";
            Assert.True(fields.Contains(property.Name), $"{where} is not a field of Hubble's {message}");
            if (Nested.TryGetValue((message, property.Name), out var nested))
            {
                if (property.Value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        Check(nested, item, where + "[]");
                    }
                }
                else
                {
                    Check(nested, property.Value, where);
                }
            }
            else if (EnumFields.TryGetValue((message, property.Name), out var enumName))
            {
                Assert.True(property.Value.ValueKind == JsonValueKind.String, $"{where} must be an enum name");
                Assert.True(Proto.Enums[enumName].Contains(property.Value.GetString()!), $"{where}={property.Value} is not a {enumName} value");
            }
            else if (Int64Fields.Contains((message, property.Name)))
            {
                Assert.True(property.Value.ValueKind == JsonValueKind.String
                    && ulong.TryParse(property.Value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out _), $"{where} must be a decimal string");
            }
            else if (property.Name == "time")
            {
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$", property.Value.GetString()!);
            }
        }
    }

    private static (Dictionary<string, HashSet<string>>, Dictionary<string, HashSet<string>>) LoadProto([CallerFilePath] string here = "")
    {
        var messages = new Dictionary<string, HashSet<string>>();
        var enums = new Dictionary<string, HashSet<string>>();
        foreach (var line in File.ReadAllLines(Path.Combine(Path.GetDirectoryName(here)!, "hubble-proto-fields.txt")))
        {
            if (line.StartsWith('#') || line.Trim().Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var names = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            if (line.StartsWith("enum ", StringComparison.Ordinal))
            {
                enums[line[5..colon]] = names;
            }
            else
            {
                messages[line[..colon]] = names;
            }
        }

        return (messages, enums);
    }
}
