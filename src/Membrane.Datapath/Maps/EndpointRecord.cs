using System.Net;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Programs;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Maps;

/// <summary>What the datapath keeps about one endpoint.</summary>
internal sealed class EndpointRecord
{
    public EndpointRecord(ushort id, int ifindex, string interfaceName, uint identity, IPAddress address, EndpointPolicyMaps policy)
    {
        Id = id;
        Ifindex = ifindex;
        InterfaceName = interfaceName;
        Identity = identity;
        Address = address;
        Policy = policy;
    }

    public ushort Id { get; }

    public int Ifindex { get; }

    public string InterfaceName { get; }

    public uint Identity { get; set; }

    public IPAddress Address { get; }

    public uint Generation { get; set; } = 1;

    public EndpointPolicyMaps Policy { get; }

    public AttachMode AttachMode { get; set; }

    /// <summary>
    /// What the endpoint's ipcache entry says with <c>IPCACHE_F_INGRESS_REDIRECT</c>: true while any policy the
    /// kernel may be using for it has ingress redirect entries (set before such a policy becomes active, cleared
    /// after one without them is; see <see cref="PolicyMapWriter"/>).
    /// </summary>
    public bool IngressRedirectHint { get; set; }

    /// <summary>
    /// The prefix masks the kernel record holds (<c>ingress_meta</c>, <c>egress_meta</c>; packed policy_meta): never
    /// narrower than the masks of a policy map a program may be using (see <see cref="PolicyMapWriter"/>).
    /// </summary>
    public (ulong Ingress, ulong Egress) PolicyMeta { get; set; }

    /// <summary>The kernel record of this endpoint.</summary>
    public endpoint_info ToNative() => new()
    {
        ipv4 = AddressCodec.ToNetworkOrder(Address),
        identity = Identity,
        policy_generation = Generation,
        endpoint_id = Id,
        flags = SharedConstants.ENDPOINT_F_ACTIVE,
        ingress_meta = PolicyCodec.UnpackMeta(PolicyMeta.Ingress),
        egress_meta = PolicyCodec.UnpackMeta(PolicyMeta.Egress),
    };

    /// <summary>The masks of packed policy contents (with their meta entries), as <see cref="PolicyMeta"/> holds them.</summary>
    public static (ulong Ingress, ulong Egress) MetaOf(Dictionary<ulong, ulong> contents) =>
        (PolicyCodec.Meta(contents, TrafficDirection.Ingress), PolicyCodec.Meta(contents, TrafficDirection.Egress));
}
