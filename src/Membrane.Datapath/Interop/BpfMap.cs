using System.Runtime.CompilerServices;

namespace Membrane.Datapath.Interop;

/// <summary>
/// Typed element access to one BPF map through its file descriptor. Keys and values are the blittable mirrors of
/// <c>shared.h</c>; errors surface as <see cref="DatapathException"/> naming the operation and the map.
/// </summary>
internal sealed unsafe class BpfMap : IDisposable
{
    private static readonly int s_possibleCpus = Libbpf.PossibleCpus();

    public BpfMap(BpfFileDescriptor fd, string name)
    {
        Fd = fd;
        Name = name;
    }

    public BpfFileDescriptor Fd { get; }

    public string Name { get; }

    /// <summary>Slots in a per-CPU map value.</summary>
    public static int PossibleCpus => s_possibleCpus;

    /// <summary>Opens the map pinned at <paramref name="path"/>.</summary>
    public static BpfMap OpenPinned(string path, string name) => new(Libbpf.OpenPinned(path), name);

    public BpfMapInfo Info() => Libbpf.MapInfo(Fd, Name);

    public bool TryLookup<TKey, TValue>(in TKey key, out TValue value)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        TValue result;
        fixed (TKey* k = &key)
        {
            var rc = Libbpf.bpf_map_lookup_elem(Fd.Fd, k, &result);
            if (rc == -(int)Errno.ENOENT)
            {
                value = default;
                return false;
            }

            Libbpf.Check(rc, $"map_lookup {Name}");
        }

        value = result;
        return true;
    }

    /// <summary>Looks up a per-CPU value: one slot per possible CPU.</summary>
    public TValue[] LookupPerCpu<TKey, TValue>(in TKey key)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        // The kernel copies per-CPU values with each slot rounded up to 8 bytes.
        var slot = (sizeof(TValue) + 7) & ~7;
        var buffer = new byte[slot * s_possibleCpus];
        fixed (TKey* k = &key)
        fixed (byte* b = buffer)
        {
            Libbpf.Check(Libbpf.bpf_map_lookup_elem(Fd.Fd, k, b), $"map_lookup {Name}");
            var values = new TValue[s_possibleCpus];
            for (var cpu = 0; cpu < values.Length; cpu++)
            {
                values[cpu] = Unsafe.ReadUnaligned<TValue>(b + (cpu * slot));
            }

            return values;
        }
    }

    public void Update<TKey, TValue>(in TKey key, in TValue value, ulong flags = Libbpf.BPF_ANY)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            Libbpf.Check(Libbpf.bpf_map_update_elem(Fd.Fd, k, v, flags), $"map_update {Name}");
        }
    }

    /// <summary>Stores a map file descriptor as the value of a map-in-map element.</summary>
    public void UpdateInnerMap<TKey>(in TKey key, BpfFileDescriptor inner)
        where TKey : unmanaged
    {
        var fd = inner.Fd;
        fixed (TKey* k = &key)
        {
            Libbpf.Check(Libbpf.bpf_map_update_elem(Fd.Fd, k, &fd, Libbpf.BPF_ANY), $"map_update {Name}");
        }
    }

    /// <summary>
    /// Stores several map-in-map values in one BPF_MAP_UPDATE_BATCH call. Returns false (nothing written) when the
    /// kernel does not support batches for this map type.
    /// </summary>
    public bool TryUpdateInnerMapsBatch(ReadOnlySpan<uint> keys, ReadOnlySpan<int> innerFds)
    {
        var count = (uint)keys.Length;
        var opts = new Libbpf.bpf_map_batch_opts { sz = (nuint)sizeof(Libbpf.bpf_map_batch_opts) };
        fixed (uint* k = keys)
        fixed (int* v = innerFds)
        {
            var rc = Libbpf.bpf_map_update_batch(Fd.Fd, k, v, &count, &opts);
            if ((rc == -(int)Errno.EINVAL || rc == -(int)Errno.ENOTSUPP || rc == -(int)Errno.EOPNOTSUPP) && count == 0)
            {
                return false;
            }

            Libbpf.Check(rc, $"map_update_batch {Name}");
            return true;
        }
    }

    /// <summary>Reads the map-in-map value at <paramref name="key"/>: the inner map's kernel id, or null.</summary>
    public uint? LookupInnerMapId<TKey>(in TKey key)
        where TKey : unmanaged
    {
        uint id;
        fixed (TKey* k = &key)
        {
            var rc = Libbpf.bpf_map_lookup_elem(Fd.Fd, k, &id);
            if (rc == -(int)Errno.ENOENT)
            {
                return null;
            }

            Libbpf.Check(rc, $"map_lookup {Name}");
        }

        return id;
    }

    /// <summary>Deletes <paramref name="key"/>; false if it was not there.</summary>
    public bool Delete<TKey>(in TKey key)
        where TKey : unmanaged
    {
        fixed (TKey* k = &key)
        {
            var rc = Libbpf.bpf_map_delete_elem(Fd.Fd, k);
            if (rc == -(int)Errno.ENOENT)
            {
                return false;
            }

            Libbpf.Check(rc, $"map_delete {Name}");
            return true;
        }
    }

    /// <summary>All keys currently in a hash-like map (a snapshot; concurrent changes may be missed or repeated).</summary>
    public List<TKey> Keys<TKey>()
        where TKey : unmanaged
    {
        var keys = new List<TKey>();
        TKey current = default, next = default;
        var rc = Libbpf.bpf_map_get_next_key(Fd.Fd, null, &next);
        while (rc == 0)
        {
            keys.Add(next);
            current = next;
            rc = Libbpf.bpf_map_get_next_key(Fd.Fd, &current, &next);
        }

        if (rc != -(int)Errno.ENOENT)
        {
            Libbpf.Check(rc, $"map_get_next_key {Name}");
        }

        return keys;
    }

    /// <summary>All entries currently in a hash-like map (a snapshot).</summary>
    public List<KeyValuePair<TKey, TValue>> Entries<TKey, TValue>()
        where TKey : unmanaged
        where TValue : unmanaged
    {
        var entries = new List<KeyValuePair<TKey, TValue>>();
        foreach (var key in Keys<TKey>())
        {
            if (TryLookup(key, out TValue value))
            {
                entries.Add(new(key, value));
            }
        }

        return entries;
    }

    public void Dispose() => Fd.Dispose();
}
