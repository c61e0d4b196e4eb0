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
/// <para>
/// Two copies of what a policy holds live outside its map, and each may be wider than the active policy but never
/// narrower while a program could use it:
/// </para>
/// <list type="bullet">
/// <item>the endpoint record's prefix masks (<c>endpoint_info.ingress_meta</c>/<c>egress_meta</c>, which the
/// endpoint's own decisions probe instead of the map's meta entry). A program reads them and the map pointer at
/// slightly different times, so before a swap that adds prefix lengths the record is widened to the union of old and
/// new and one RCU grace period is awaited (a no-op store of the active map) before the swap: no program that read
/// the narrower masks is still running when the new map appears (not needed when the narrower masks are empty, see
/// <see cref="AddsProbes"/>). After the swap (and its grace period) the record gets the new masks. Most updates add
/// no prefix length and pay no extra grace period.</item>
/// <item>the hint in the endpoint's ipcache entry that its ingress policy has redirect entries
/// (<c>IPCACHE_F_INGRESS_REDIRECT</c>; from-container reads the destination's meta entry only when it is set): set
/// before a policy with ingress redirects becomes active, cleared after the swap to one without them.</item>
/// </list>
/// </summary>
internal sealed class PolicyMapWriter
{
    private readonly BpfMap _policyMaps;
    private readonly EndpointTable _endpoints;
    private readonly IpcacheMaps _ipcache;

    public PolicyMapWriter(BpfMap policyMaps, EndpointTable endpoints, IpcacheMaps ipcache)
    {
        _policyMaps = policyMaps;
        _endpoints = endpoints;
        _ipcache = ipcache;
    }

    /// <summary>Makes <paramref name="updates"/> (endpoint, complete packed contents incl. meta) the active policies.</summary>
    public void Apply(IReadOnlyList<(EndpointRecord Endpoint, Dictionary<ulong, ulong> Contents)> updates)
    {
        if (updates.Count == 0)
        {
            return;
        }

        var widened = new List<EndpointRecord>();
        foreach (var (endpoint, contents) in updates)
        {
            WriteInactive(endpoint.Policy, contents);
            var meta = EndpointRecord.MetaOf(contents);
            var union = (endpoint.PolicyMeta.Ingress | meta.Ingress, endpoint.PolicyMeta.Egress | meta.Egress);
            if (union != endpoint.PolicyMeta)
            {
                if (AddsProbes(endpoint.PolicyMeta.Ingress, meta.Ingress) || AddsProbes(endpoint.PolicyMeta.Egress, meta.Egress))
                {
                    widened.Add(endpoint);
                }

                endpoint.PolicyMeta = union;
                _endpoints.Write(endpoint);
            }

            if (PolicyCodec.HasIngressRedirect(contents) && !endpoint.IngressRedirectHint)
            {
                SetIngressRedirectHint(endpoint, true);
            }
        }

        if (widened.Count > 0)
        {
            // Storing the active maps again changes nothing but ends with synchronize_rcu(): every program that
            // read the narrower masks has finished.
            Swap(widened.Select(e => (e.Policy.EndpointId, e.Policy.Slot(e.Policy.Active).Fd)).ToList());
        }

        Swap(updates.Select(u => (u.Endpoint.Policy.EndpointId, u.Endpoint.Policy.Slot(u.Endpoint.Policy.Inactive).Fd)).ToList());

        foreach (var (endpoint, contents) in updates)
        {
            endpoint.Policy.MarkActive(endpoint.Policy.Inactive);
            endpoint.Generation++;
            endpoint.PolicyMeta = EndpointRecord.MetaOf(contents);
            _endpoints.Write(endpoint);
            if (!PolicyCodec.HasIngressRedirect(contents) && endpoint.IngressRedirectHint)
            {
                SetIngressRedirectHint(endpoint, false);
            }
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

    /// <summary>
    /// Whether a program that read the masks <paramref name="current"/> could decide differently from both the old and
    /// the new policy when it probes the new map with them: when the new masks add prefix lengths. Not when the
    /// current masks are empty: such a program probes nothing and drops (133), which is what the old policy, holding
    /// no entry in that direction, decides too (a new endpoint's first policy needs no extra grace period).
    /// </summary>
    private static bool AddsProbes(ulong current, ulong next)
    {
        const ulong probeBits = 0x3FFFFUL | (0x3FFFFUL << 32);
        return (current & probeBits) != 0 && (next & ~current & probeBits) != 0;
    }

    /// <summary>Points <c>policy_maps[id]</c> at the given maps: one batch (one grace period) when the kernel can.</summary>
    private void Swap(List<(ushort EndpointId, BpfFileDescriptor Map)> targets)
    {
        var ids = targets.Select(t => (uint)t.EndpointId).ToArray();
        var fds = targets.Select(t => t.Map.Fd).ToArray();
        if (!_policyMaps.TryUpdateInnerMapsBatch(ids, fds))
        {
            foreach (var (id, map) in targets)
            {
                _policyMaps.UpdateInnerMap((uint)id, map);
            }
        }
    }

    private void SetIngressRedirectHint(EndpointRecord endpoint, bool value)
    {
        endpoint.IngressRedirectHint = value;
        _ipcache.UpsertEndpoint(endpoint);
    }

    private static void WriteInactive(EndpointPolicyMaps policy, Dictionary<ulong, ulong> contents) =>
        WriteSlot(policy, policy.Inactive, contents);
}
