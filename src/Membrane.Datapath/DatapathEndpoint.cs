using System.Net;
using Membrane.Policy.Identity;

namespace Membrane.Datapath;

/// <summary>A workload endpoint as the datapath knows it.</summary>
/// <param name="Id">Endpoint id (1–65535), the key of its policy map state (<c>MapStateDelta.EndpointId</c>).</param>
/// <param name="InterfaceName">The host-side veth in the node network namespace.</param>
/// <param name="InterfaceIndex">Its interface index in the node network namespace.</param>
/// <param name="Identity">The endpoint's security identity.</param>
/// <param name="Address">The endpoint's IPv4 address (the only source address it may use).</param>
/// <param name="AttachMode">How its programs are attached.</param>
/// <param name="PolicyGeneration">Incremented on every policy change; established flows are re-checked after one.</param>
public sealed record DatapathEndpoint(
    ushort Id,
    string InterfaceName,
    int InterfaceIndex,
    NumericIdentity Identity,
    IPAddress Address,
    AttachMode AttachMode,
    uint PolicyGeneration);

/// <summary>How an endpoint's programs are attached to its interface.</summary>
public enum AttachMode
{
    /// <summary>Not attached.</summary>
    None = 0,

    /// <summary>tcx links (kernel 6.6+), pinned on bpffs: they outlive the agent and are replaced atomically.</summary>
    Tcx = 1,

    /// <summary>tc clsact filters in direct-action mode (older kernels).</summary>
    TcClsact = 2,
}
