using Membrane.Datapath.Interop;

namespace Membrane.Datapath.Maps;

/// <summary>
/// Makes new policy map contents visible to the kernel atomically per endpoint:
/// <list type="number">
/// <item>write the complete new contents (entries and meta entries) into the endpoint's inactive slot, which no
/// program can be reading (see 3);</item>
/// <item>point <c>policy_maps[endpoint id]</c> at that slot: one pointer store, so a program sees either the old map
/// or the new one, never a mix;</item>
/// <item>the kernel ends every update of an array/hash of maps with synchronize_rcu() (kernel/bpf/syscall.c,
/// maybe_wait_bpf_programs), so when the call returns no program still runs on the old slot, which then becomes
/// the inactive slot for the next update;</item>
/// <item>bump the endpoint's policy generation so established connections are checked against the new policy on
/// their next packet.</item>
/// </list>
/// Several endpoints are swapped with one BPF_MAP_UPDATE_BATCH, which waits for one grace period for all of them
/// (kernel 6.8+) instead of one per endpoint.
/// </summary>
internal sealed class PolicyMapWriter
{
    private readonly BpfMap _policyMaps;
    private readonly EndpointTable _endpoints;

    public PolicyMapWriter(BpfMap policyMaps, EndpointTable endpoints)
    {
        _policyMaps = policyMaps;
        _endpoints = endpoints;
    }

    /// <summary>Makes <paramref name="updates"/> (endpoint, complete packed contents incl. meta) the active policies.</summary>
    public void Apply(IReadOnlyList<(EndpointRecord Endpoint, Dictionary<ulong, ulong> Contents)> updates)
    {
        if (updates.Count == 0)
        {
            return;
        }

        foreach (var (endpoint, contents) in updates)
        {
            WriteInactive(endpoint.Policy, contents);
        }

        var ids = new uint[updates.Count];
        var fds = new int[updates.Count];
        for (var i = 0; i < updates.Count; i++)
        {
            var policy = updates[i].Endpoint.Policy;
            ids[i] = policy.EndpointId;
            fds[i] = policy.Slot(policy.Inactive).Fd.Fd;
        }

        if (!_policyMaps.TryUpdateInnerMapsBatch(ids, fds))
        {
            foreach (var (endpoint, _) in updates)
            {
                _policyMaps.UpdateInnerMap((uint)endpoint.Id, endpoint.Policy.Slot(endpoint.Policy.Inactive).Fd);
            }
        }

        foreach (var (endpoint, _) in updates)
        {
            endpoint.Policy.MarkActive(endpoint.Policy.Inactive);
            endpoint.Generation++;
            _endpoints.Write(endpoint);
        }
    }

    /// <summary>Points <c>policy_maps[id]</c> at the endpoint's active slot (new endpoints).</summary>
    public void Install(EndpointRecord endpoint) =>
        _policyMaps.UpdateInnerMap((uint)endpoint.Id, endpoint.Policy.Slot(endpoint.Policy.Active).Fd);

    public void Uninstall(ushort endpointId) => _policyMaps.Delete((uint)endpointId);

    /// <summary>Kernel id of the map <c>policy_maps[id]</c> points at, or null.</summary>
    public uint? ActiveMapId(ushort endpointId) => _policyMaps.LookupInnerMapId((uint)endpointId);

    /// <summary>Writes <paramref name="contents"/> into a slot, touching only what differs from what it holds.</summary>
    public static void WriteSlot(EndpointPolicyMaps policy, int slot, Dictionary<ulong, ulong> contents)
    {
        var map = policy.Slot(slot);
        var current = policy.Mirror(slot);
        try
        {
            // Deletes first: a map close to its capacity must have room for the upserts.
            foreach (var key in current.Keys)
            {
                if (!contents.ContainsKey(key))
                {
                    map.Delete(key);
                }
            }

            foreach (var (key, value) in contents)
            {
                if (!current.TryGetValue(key, out var old) || old != value)
                {
                    map.Update(key, value);
                }
            }
        }
        catch
        {
            policy.InvalidateMirror(slot);
            throw;
        }

        policy.SetMirror(slot, new Dictionary<ulong, ulong>(contents));
    }

    private static void WriteInactive(EndpointPolicyMaps policy, Dictionary<ulong, ulong> contents) =>
        WriteSlot(policy, policy.Inactive, contents);
}
