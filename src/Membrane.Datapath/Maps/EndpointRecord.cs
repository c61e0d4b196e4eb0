using System.Net;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Programs;

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

    /// <summary>The kernel record of this endpoint.</summary>
    public endpoint_info ToNative() => new()
    {
        ipv4 = AddressCodec.ToNetworkOrder(Address),
        identity = Identity,
        policy_generation = Generation,
        endpoint_id = Id,
        flags = SharedConstants.ENDPOINT_F_ACTIVE,
    };
}
