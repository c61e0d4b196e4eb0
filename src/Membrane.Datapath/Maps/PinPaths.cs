using System.Text.RegularExpressions;

namespace Membrane.Datapath.Maps;

/// <summary>
/// Where an instance's objects live on bpffs: <c>/sys/fs/bpf/membrane/v2/&lt;instance&gt;/</c>. The version segment
/// changes whenever a map definition in <c>bpf/lib/maps.h</c> changes, because libbpf refuses to reuse a pinned
/// map whose definition differs (v2: <c>endpoint_info</c> carries the policy prefix masks, 16 → 32 bytes).
/// </summary>
internal sealed partial class PinPaths
{
    /// <summary>Version of the pinned-map layout.</summary>
    public const string LayoutVersion = "v2";

    public PinPaths(string bpffsRoot, string instance)
    {
        if (!InstanceName().IsMatch(instance))
        {
            throw new ArgumentException($"instance name \"{instance}\": use 1-32 characters a-z, 0-9, '-' or '_', starting with a letter or digit", nameof(instance));
        }

        Instance = instance;
        Root = Path.Combine(bpffsRoot, "membrane", LayoutVersion, instance);
    }

    public string Instance { get; }

    /// <summary>The pin root handed to libbpf (maps pinned by name live directly in it).</summary>
    public string Root { get; }

    public string Map(string name) => Path.Combine(Root, name);

    public string EndpointsDirectory => Path.Combine(Root, "ep");

    public string Endpoint(ushort endpointId) => Path.Combine(EndpointsDirectory, endpointId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public string PolicySlot(ushort endpointId, int slot) => Path.Combine(Endpoint(endpointId), $"policy{slot}");

    public string Link(ushort endpointId, bool ingress) => Path.Combine(Endpoint(endpointId), ingress ? "link_from_container" : "link_to_container");

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,31}$")]
    private static partial Regex InstanceName();
}
