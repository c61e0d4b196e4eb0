using Membrane.Policy.Model;

namespace Membrane.Policy.Identity;

/// <summary>
/// In-memory <see cref="IIdentityAllocator"/>. A label set's number is derived from a stable 64-bit FNV-1a hash of its
/// canonical text, probing linearly on collision, so the same inputs give the same numbers on every run; numbers
/// handed out before a restart can also be restored from a <see cref="IIdentityAllocator.Snapshot"/> so they stay
/// stable even when collisions made them depend on allocation order.
/// </summary>
public sealed class LocalIdentityAllocator : IIdentityAllocator
{
    private const uint LocalFirst = NumericIdentity.LocalScopeFlag | 1;
    private const uint LocalCount = 0xFF_FFFF;
    private const uint GlobalCount = NumericIdentity.MaximalAllocated - NumericIdentity.MinimalAllocated + 1;

    private readonly Lock _lock = new();
    private readonly Dictionary<LabelSet, uint> _byLabels = [];
    private readonly Dictionary<uint, Entry> _byId = [];
    private readonly Dictionary<LabelSet, uint> _restored = [];
    private readonly HashSet<uint> _restoredIds = [];

    /// <summary>Creates an allocator, optionally keeping the numbers of a previous run's snapshot for its label sets.</summary>
    public LocalIdentityAllocator(IEnumerable<KeyValuePair<NumericIdentity, LabelSet>>? restore = null)
    {
        foreach (var (id, labels) in restore ?? [])
        {
            if (id.IsReserved || id.Value == 0 || _restoredIds.Contains(id.Value) || _restored.ContainsKey(labels))
            {
                continue;
            }

            if (IsLocalLabelSet(labels) != id.IsLocal)
            {
                continue;
            }

            _restored[labels] = id.Value;
            _restoredIds.Add(id.Value);
        }
    }

    /// <inheritdoc />
    public NumericIdentity Allocate(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (ReservedIdentities.TryGetByLabels(labels, out var reserved))
        {
            return reserved;
        }

        lock (_lock)
        {
            if (_byLabels.TryGetValue(labels, out var existing))
            {
                _byId[existing].References++;
                return new NumericIdentity(existing);
            }

            var id = _restored.Remove(labels, out var restored) ? restored : Probe(labels);
            _restoredIds.Remove(id);
            _byLabels[labels] = id;
            _byId[id] = new Entry(labels) { References = 1 };
            return new NumericIdentity(id);
        }
    }

    /// <inheritdoc />
    public bool Release(NumericIdentity identity)
    {
        if (identity.IsReserved)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_byId.TryGetValue(identity.Value, out var entry))
            {
                return false;
            }

            if (--entry.References > 0)
            {
                return false;
            }

            _byId.Remove(identity.Value);
            _byLabels.Remove(entry.Labels);
            return true;
        }
    }

    /// <inheritdoc />
    public bool TryGetLabels(NumericIdentity identity, out LabelSet labels)
    {
        if (ReservedIdentities.TryGetLabels(identity, out labels))
        {
            return true;
        }

        lock (_lock)
        {
            if (_byId.TryGetValue(identity.Value, out var entry))
            {
                labels = entry.Labels;
                return true;
            }
        }

        labels = LabelSet.Empty;
        return false;
    }

    /// <inheritdoc />
    public bool TryGetIdentity(LabelSet labels, out NumericIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (ReservedIdentities.TryGetByLabels(labels, out identity))
        {
            return true;
        }

        lock (_lock)
        {
            if (_byLabels.TryGetValue(labels, out var id))
            {
                identity = new NumericIdentity(id);
                return true;
            }
        }

        identity = NumericIdentity.Any;
        return false;
    }

    /// <inheritdoc />
    public IReadOnlyList<AllocatedIdentity> Snapshot()
    {
        lock (_lock)
        {
            return [.. _byId.OrderBy(e => e.Key).Select(e => new AllocatedIdentity(new NumericIdentity(e.Key), e.Value.Labels, e.Value.References))];
        }
    }

    /// <summary>The 64-bit FNV-1a hash of the label set's canonical text (stable across processes and runs).</summary>
    internal static ulong StableHash(LabelSet labels)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in labels.ToString())
        {
            hash = (hash ^ (byte)c) * 1099511628211UL;
            hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
        }

        return hash;
    }

    private static bool IsLocalLabelSet(LabelSet labels) => CidrIdentity.IsCidrLabelSet(labels);

    private uint Probe(LabelSet labels)
    {
        var local = IsLocalLabelSet(labels);
        var count = local ? LocalCount : GlobalCount;
        var first = local ? LocalFirst : NumericIdentity.MinimalAllocated;
        var start = (uint)(StableHash(labels) % count);
        for (uint i = 0; i < count; i++)
        {
            var candidate = first + ((start + i) % count);
            if (!_byId.ContainsKey(candidate) && !_restoredIds.Contains(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(local ? "node-local identity space exhausted" : "cluster identity space (256-65535) exhausted");
    }

    private sealed class Entry(LabelSet labels)
    {
        public LabelSet Labels { get; } = labels;

        public int References { get; set; }
    }
}
