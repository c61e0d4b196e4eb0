using Membrane.Datapath.Interop;

namespace Membrane.Datapath.Maps;

/// <summary>
/// The two policy maps of one endpoint (slots 0 and 1, pinned under <c>ep/&lt;id&gt;/policy0|1</c>) and C# mirrors
/// of their contents. One slot is active (referenced by <c>policy_maps[endpoint id]</c>); updates are written to
/// the other one and then made visible by one pointer swap (see <see cref="PolicyMapWriter"/> and
/// docs/datapath.md, "Atomic policy updates").
/// </summary>
internal sealed class EndpointPolicyMaps : IDisposable
{
    private readonly BpfMap[] _slots;
    private readonly Dictionary<ulong, ulong>?[] _mirrors = new Dictionary<ulong, ulong>?[2];

    private EndpointPolicyMaps(ushort endpointId, BpfMap slot0, BpfMap slot1, int active)
    {
        EndpointId = endpointId;
        _slots = [slot0, slot1];
        Active = active;
    }

    public ushort EndpointId { get; }

    /// <summary>Index of the slot the kernel uses.</summary>
    public int Active { get; private set; }

    public int Inactive => 1 - Active;

    public BpfMap Slot(int slot) => _slots[slot];

    /// <summary>Creates and pins both slots of a new endpoint (replacing stale pins).</summary>
    public static EndpointPolicyMaps Create(PinPaths paths, ushort endpointId)
    {
        Directory.CreateDirectory(paths.Endpoint(endpointId));
        var slots = new BpfMap[2];
        for (var slot = 0; slot < 2; slot++)
        {
            var path = paths.PolicySlot(endpointId, slot);
            File.Delete(path);
            var fd = Libbpf.CreateMap(Libbpf.BPF_MAP_TYPE_HASH, $"policy_{endpointId}_{slot}", 8, 8,
                SharedConstants.POLICY_MAP_MAX, Libbpf.BPF_F_NO_PREALLOC);
            Libbpf.Pin(fd, path);
            slots[slot] = new BpfMap(fd, $"policy (endpoint {endpointId}, slot {slot})");
        }

        var maps = new EndpointPolicyMaps(endpointId, slots[0], slots[1], active: 0);
        maps._mirrors[0] = [];
        maps._mirrors[1] = [];
        return maps;
    }

    /// <summary>Re-opens the pinned slots of an endpoint after a restart; the active slot is the one the outer map holds.</summary>
    public static EndpointPolicyMaps Open(PinPaths paths, ushort endpointId, uint? activeMapId)
    {
        var slot0 = BpfMap.OpenPinned(paths.PolicySlot(endpointId, 0), $"policy (endpoint {endpointId}, slot 0)");
        var slot1 = BpfMap.OpenPinned(paths.PolicySlot(endpointId, 1), $"policy (endpoint {endpointId}, slot 1)");
        var active = activeMapId is { } id && slot1.Info().Id == id ? 1 : 0;
        return new EndpointPolicyMaps(endpointId, slot0, slot1, active);
    }

    /// <summary>What slot <paramref name="slot"/> holds, read from the kernel on first use after a restart or a failed write.</summary>
    public Dictionary<ulong, ulong> Mirror(int slot)
    {
        if (_mirrors[slot] is { } mirror)
        {
            return mirror;
        }

        mirror = [];
        foreach (var (key, value) in _slots[slot].Entries<ulong, ulong>())
        {
            mirror[key] = value;
        }

        _mirrors[slot] = mirror;
        return mirror;
    }

    /// <summary>Forgets the mirror of a slot whose kernel contents are uncertain (a write failed half-way).</summary>
    public void InvalidateMirror(int slot) => _mirrors[slot] = null;

    public void SetMirror(int slot, Dictionary<ulong, ulong> contents) => _mirrors[slot] = contents;

    /// <summary>Records that the kernel now uses <paramref name="slot"/>.</summary>
    public void MarkActive(int slot) => Active = slot;

    /// <summary>Removes the pins (the maps live on while the outer map or a program references them).</summary>
    public void Unpin(PinPaths paths)
    {
        for (var slot = 0; slot < 2; slot++)
        {
            File.Delete(paths.PolicySlot(EndpointId, slot));
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Dispose();
        }
    }
}
