using System.Collections.Immutable;
using Membrane.Policy.Model;

namespace Membrane.Policy.MapState;

/// <summary>What the datapath does with traffic matching a <see cref="PolicyKey"/>.</summary>
public enum PolicyVerdict : byte
{
    /// <summary>Pass the packet.</summary>
    Allow = 0,

    /// <summary>Drop with reason 181 (Policy denied by denylist). Deny beats allow.</summary>
    Deny = 1,

    /// <summary>Allow at L3/L4 and redirect the connection to the L7 proxy, which applies <see cref="PolicyEntry.L7"/>.</summary>
    Redirect = 2,
}

/// <summary>Which L7 protocol engine a redirect needs (one rule type per port: reference §1.7).</summary>
public enum L7Protocol : byte
{
    /// <summary>No L7 rules.</summary>
    None = 0,

    /// <summary>HTTP/1.1, HTTP/2 and gRPC (<c>rules.http</c>).</summary>
    Http = 1,

    /// <summary>Kafka (<c>rules.kafka</c>).</summary>
    Kafka = 2,
}

/// <summary>
/// Value of one per-endpoint policy map entry, with attribution. The datapath stores the verdict, the proxy
/// port for <see cref="L7Protocol"/> (chosen by the agent) and a cookie it interns from <see cref="DerivedFrom"/>.
/// </summary>
/// <param name="Verdict">Allow, deny or redirect.</param>
/// <param name="L7">For <see cref="PolicyVerdict.Redirect"/>: which proxy engine; otherwise <see cref="L7Protocol.None"/>.</param>
/// <param name="DerivedFrom">The policies whose rules produced this entry (sorted, distinct).</param>
public sealed record PolicyEntry(PolicyVerdict Verdict, L7Protocol L7, ImmutableArray<PolicyRef> DerivedFrom)
{
    /// <summary>Value equality including the attribution list.</summary>
    public bool Equals(PolicyEntry? other) =>
        other is not null && Verdict == other.Verdict && L7 == other.L7 && DerivedFrom.AsSpan().SequenceEqual(other.DerivedFrom.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Verdict);
        h.Add(L7);
        foreach (var p in DerivedFrom)
        {
            h.Add(p);
        }

        return h.ToHashCode();
    }
}
