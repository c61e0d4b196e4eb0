using System.Net;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Datapath;

/// <summary>One connection-tracking entry (<c>membrane bpf ct list</c>).</summary>
/// <param name="Protocol">IP protocol.</param>
/// <param name="Source">Source address of the connection's first packet.</param>
/// <param name="SourcePort">Its source port (ICMP echo: identifier).</param>
/// <param name="Destination">Destination address.</param>
/// <param name="DestinationPort">Destination port (ICMP echo reply: identifier).</param>
/// <param name="Direction">Egress: opened by <paramref name="EndpointId"/>; ingress: accepted by it.</param>
/// <param name="EndpointId">The endpoint whose policy allowed the connection.</param>
/// <param name="SourceIdentity">Identity of the side that opened the connection.</param>
/// <param name="DestinationIdentity">Identity of the other side.</param>
/// <param name="State">Connection state.</param>
/// <param name="Flags">State and proxy flags.</param>
/// <param name="ForwardPackets">Packets from the opener.</param>
/// <param name="ForwardBytes">Bytes from the opener.</param>
/// <param name="ReplyPackets">Packets to the opener.</param>
/// <param name="ReplyBytes">Bytes to the opener.</param>
/// <param name="ForwardTcpFlags">TCP flags seen from the opener.</param>
/// <param name="ReplyTcpFlags">TCP flags seen to the opener.</param>
/// <param name="ProxyPort">Proxy port of a redirected connection, else 0.</param>
/// <param name="PolicyCookie">Cookie of the policy decision.</param>
/// <param name="PolicyGeneration">Endpoint policy generation the decision was taken at.</param>
/// <param name="Age">Time since the entry was created.</param>
/// <param name="ExpiresIn">Time left; zero or negative when expired (awaiting garbage collection).</param>
public sealed record ConntrackEntry(
    byte Protocol,
    IPAddress Source,
    ushort SourcePort,
    IPAddress Destination,
    ushort DestinationPort,
    TrafficDirection Direction,
    ushort EndpointId,
    NumericIdentity SourceIdentity,
    NumericIdentity DestinationIdentity,
    ConntrackState State,
    ConntrackFlags Flags,
    ulong ForwardPackets,
    ulong ForwardBytes,
    ulong ReplyPackets,
    ulong ReplyBytes,
    TcpFlags ForwardTcpFlags,
    TcpFlags ReplyTcpFlags,
    ushort ProxyPort,
    uint PolicyCookie,
    uint PolicyGeneration,
    TimeSpan Age,
    TimeSpan ExpiresIn);

/// <summary>Connection state (TCP; other protocols are <see cref="New"/> until a reply, then <see cref="Established"/>).</summary>
public enum ConntrackState
{
    /// <summary>No reply seen yet.</summary>
    New,

    /// <summary>A reply was seen.</summary>
    Established,

    /// <summary>TCP: RST seen, or FIN in both directions.</summary>
    Closing,

    /// <summary>The lifetime ran out; the entry is ignored and awaits garbage collection.</summary>
    Expired,
}

/// <summary>Flags of a connection-tracking entry (<c>CT_F_*</c> in shared.h).</summary>
[Flags]
public enum ConntrackFlags : ushort
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>A reply was seen.</summary>
    SeenReply = 0x0001,

    /// <summary>FIN from the opener.</summary>
    ForwardFin = 0x0002,

    /// <summary>FIN to the opener.</summary>
    ReplyFin = 0x0004,

    /// <summary>RST seen.</summary>
    Reset = 0x0008,

    /// <summary>The opener's packets are assigned to the L7 proxy.</summary>
    ProxyRedirect = 0x0010,

    /// <summary>Opened by the L7 proxy (source identity from its mark); replies are steered back to it.</summary>
    ProxyUpstream = 0x0020,
}
