using Membrane.Datapath.Interop;
using Membrane.Datapath.Maps;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Events;

/// <summary>Turns kernel event records into <see cref="DatapathEvent"/>s (interface names and policy names resolved).</summary>
internal sealed class EventDecoder
{
    private readonly Func<int, string?> _interfaceName;
    private readonly PolicyCookies _cookies;
    private long _monotonicToWallNs;

    public EventDecoder(Func<int, string?> interfaceName, PolicyCookies cookies)
    {
        _interfaceName = interfaceName;
        _cookies = cookies;
        Recalibrate();
    }

    /// <summary>Re-reads the offset between the monotonic clock and wall-clock time.</summary>
    public void Recalibrate()
    {
        var wallNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        Volatile.Write(ref _monotonicToWallNs, wallNs - (long)Libc.MonotonicNanoseconds());
    }

    public DatapathEvent Decode(in datapath_event e)
    {
        var type = (DatapathEventType)e.type;
        var icmp = e.protocol == 1;
        var wallNs = (long)e.timestamp_ns + Volatile.Read(ref _monotonicToWallNs);
        return new DatapathEvent
        {
            Type = type,
            Time = DateTimeOffset.UnixEpoch.AddTicks(wallNs / 100),
            DropReason = type is DatapathEventType.Drop or DatapathEventType.PolicyVerdict ? (DropReason)e.reason : DropReason.None,
            Verdict = type == DatapathEventType.PolicyVerdict ? (PolicyVerdict)e.sub_type : null,
            ObservationPoint = type == DatapathEventType.Trace ? (TraceObservationPoint)e.sub_type : TraceObservationPoint.Unknown,
            TraceReason = type == DatapathEventType.Trace ? (TraceReason)e.reason : TraceReason.Unknown,
            MatchType = (PolicyMatchType)e.match_type,
            Direction = (TrafficDirection)e.direction,
            EndpointId = e.endpoint_id,
            SourceIdentity = new NumericIdentity(e.src_identity),
            DestinationIdentity = new NumericIdentity(e.dst_identity),
            Source = AddressCodec.FromNetworkOrder(e.saddr),
            Destination = AddressCodec.FromNetworkOrder(e.daddr),
            Protocol = e.protocol,
            SourcePort = icmp ? (ushort)0 : e.sport,
            DestinationPort = icmp ? (ushort)0 : e.dport,
            IcmpType = icmp ? (byte)e.sport : (byte)0,
            IcmpCode = icmp ? (byte)e.dport : (byte)0,
            TcpFlags = (TcpFlags)e.tcp_flags,
            IsReply = (e.flags & SharedConstants.EVENT_F_REPLY) != 0,
            FromProxy = (e.flags & SharedConstants.EVENT_F_FROM_PROXY) != 0,
            Revalidated = (e.flags & SharedConstants.EVENT_F_REVALIDATED) != 0,
            InterfaceIndex = (int)e.ifindex,
            InterfaceName = _interfaceName((int)e.ifindex),
            ProxyPort = e.proxy_port,
            PolicyCookie = e.cookie,
            Policies = _cookies.Resolve(e.cookie),
            PacketLength = e.packet_length,
        };
    }
}
