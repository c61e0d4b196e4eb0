using Membrane.Datapath.Interop;

namespace Membrane.Datapath.Maps;

/// <summary>The <c>endpoints</c> array: endpoint_info indexed by host-side interface index.</summary>
internal sealed class EndpointTable
{
    private readonly BpfMap _map;

    public EndpointTable(BpfMap map) => _map = map;

    public void Write(EndpointRecord endpoint) => _map.Update((uint)endpoint.Ifindex, endpoint.ToNative());

    public void Clear(int ifindex) => _map.Update((uint)ifindex, default(endpoint_info));

    /// <summary>All active entries (used after a restart; scans the whole array).</summary>
    public List<(int Ifindex, endpoint_info Info)> ReadActive()
    {
        var active = new List<(int, endpoint_info)>();
        for (uint ifindex = 1; ifindex < SharedConstants.ENDPOINT_IFINDEX_MAX; ifindex++)
        {
            if (_map.TryLookup(ifindex, out endpoint_info info) && (info.flags & SharedConstants.ENDPOINT_F_ACTIVE) != 0)
            {
                active.Add(((int)ifindex, info));
            }
        }

        return active;
    }
}
