using Membrane.Policy.Model;

namespace Membrane.Policy.Identity;

/// <summary>One allocated identity with its labels and reference count.</summary>
/// <param name="Identity">The numeric identity.</param>
/// <param name="Labels">Its identity labels.</param>
/// <param name="References">How many holders reference it (0 for reserved identities, which are never released).</param>
public readonly record struct AllocatedIdentity(NumericIdentity Identity, LabelSet Labels, int References);

/// <summary>
/// Allocates numeric identities for identity label sets (reference §4.2): equal label sets share one number.
/// Reserved label sets (one <c>reserved:</c> label) resolve to identities 1–10; sets with a <c>cidr:</c> label get a
/// node-local identity (<see cref="NumericIdentity.LocalScopeFlag"/>); every other set a cluster identity ≥ 256.
/// Implementations are thread-safe. A kvstore-backed allocator implements the same interface later.
/// </summary>
public interface IIdentityAllocator
{
    /// <summary>Returns the identity of <paramref name="labels"/>, allocating it if needed, and takes one reference.</summary>
    NumericIdentity Allocate(LabelSet labels);

    /// <summary>Drops one reference; returns true when the identity was freed (its last reference went away).</summary>
    bool Release(NumericIdentity identity);

    /// <summary>The labels of an allocated or reserved identity.</summary>
    bool TryGetLabels(NumericIdentity identity, out LabelSet labels);

    /// <summary>The identity currently allocated (or reserved) for <paramref name="labels"/>.</summary>
    bool TryGetIdentity(LabelSet labels, out NumericIdentity identity);

    /// <summary>Every allocated identity (reserved ones excluded), ordered by number: the input of a restore.</summary>
    IReadOnlyList<AllocatedIdentity> Snapshot();
}
