using Membrane.Datapath.Events;

namespace Membrane.Datapath;

/// <summary>A snapshot of the datapath for <c>membrane status</c>.</summary>
/// <param name="Features">Kernel features.</param>
/// <param name="PinRoot">The instance's bpffs directory.</param>
/// <param name="Endpoints">Number of endpoints.</param>
/// <param name="Maps">Fill level of each map.</param>
/// <param name="Drops">Dropped packets per reason and direction.</param>
/// <param name="ForwardedPackets">Packets forwarded (both directions).</param>
/// <param name="ProxyRedirects">Packets assigned to a proxy socket.</param>
/// <param name="PolicyRevalidations">Established flows re-checked after policy changes.</param>
/// <param name="EventsLost">Events the kernel could not write (ring buffer full).</param>
/// <param name="EventsDelivered">Events read by this process.</param>
/// <param name="EventsDroppedInUserSpace">Events read but not queued (channel full).</param>
/// <param name="ConntrackCollected">Expired conntrack entries deleted by this process.</param>
public sealed record DatapathStatus(
    DatapathFeatures Features,
    string PinRoot,
    int Endpoints,
    IReadOnlyList<MapFill> Maps,
    IReadOnlyList<DropCounter> Drops,
    ulong ForwardedPackets,
    ulong ProxyRedirects,
    ulong PolicyRevalidations,
    ulong EventsLost,
    long EventsDelivered,
    long EventsDroppedInUserSpace,
    long ConntrackCollected);

/// <summary>How full a map is.</summary>
/// <param name="Name">Map name (per-endpoint policy maps: <c>policy (endpoint N)</c>).</param>
/// <param name="Entries">Entries in use.</param>
/// <param name="Capacity">Maximum entries.</param>
public sealed record MapFill(string Name, int Entries, int Capacity)
{
    /// <summary>Entries / capacity, 0..1.</summary>
    public double Fill => Capacity == 0 ? 0 : (double)Entries / Capacity;
}
