using System.Collections.Immutable;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Selectors;

/// <summary>Operators of a compiled <see cref="LabelRequirement"/>.</summary>
public enum RequirementOperator
{
    /// <summary>A label with the key has one of the values (<c>matchLabels</c> is <c>In</c> with one value).</summary>
    In,

    /// <summary>No label with the key has one of the values (true when the key is absent, as in Kubernetes).</summary>
    NotIn,

    /// <summary>A label with the key exists. For source <c>cidr</c>: a CIDR label inside the prefix exists.</summary>
    Exists,

    /// <summary>No label with the key exists. For source <c>cidr</c>: no CIDR label inside the prefix exists.</summary>
    DoesNotExist,
}

/// <summary>
/// One compiled selector requirement: a label source (<c>any</c> matches every source), a key, an operator and values.
/// Requirements on source <c>cidr</c> compare prefixes by containment (Cilium's CIDR label matching): the key
/// <c>10.0.0.0/8</c> is satisfied by an identity labelled <c>cidr:10.1.0.0/16</c>.
/// </summary>
/// <param name="Source">Label source the requirement applies to, or <c>any</c>.</param>
/// <param name="Key">Label key.</param>
/// <param name="Operator">Operator.</param>
/// <param name="Values">Values for <see cref="RequirementOperator.In"/> and <see cref="RequirementOperator.NotIn"/>, sorted and distinct.</param>
public sealed record LabelRequirement(string Source, string Key, RequirementOperator Operator, ImmutableArray<string> Values)
{
    private readonly IpPrefix? _cidr = Source == Label.SourceCidr && IpPrefix.TryParse(Key, out var p) ? p : null;

    /// <summary>True if <paramref name="labels"/> satisfy this requirement.</summary>
    public bool Matches(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        switch (Operator)
        {
            case RequirementOperator.In:
                for (var i = 0; i < labels.Count; i++)
                {
                    var l = labels[i];
                    if (KeyMatches(l) && Values.Contains(l.Value, StringComparer.Ordinal))
                    {
                        return true;
                    }
                }

                return false;
            case RequirementOperator.NotIn:
                for (var i = 0; i < labels.Count; i++)
                {
                    var l = labels[i];
                    if (KeyMatches(l) && Values.Contains(l.Value, StringComparer.Ordinal))
                    {
                        return false;
                    }
                }

                return true;
            case RequirementOperator.Exists:
                return HasKey(labels);
            default:
                return !HasKey(labels);
        }
    }

    /// <summary>Cilium-style text: <c>any:app=frontend</c>, <c>k8s:tier in (a,b)</c>, <c>any:x</c>, <c>!any:x</c>.</summary>
    public override string ToString() => Operator switch
    {
        RequirementOperator.In when Values.Length == 1 => $"{Source}:{Key}={Values[0]}",
        RequirementOperator.In => $"{Source}:{Key} in ({string.Join(',', Values)})",
        RequirementOperator.NotIn => $"{Source}:{Key} notin ({string.Join(',', Values)})",
        RequirementOperator.Exists => $"{Source}:{Key}",
        _ => $"!{Source}:{Key}",
    };

    private bool HasKey(LabelSet labels)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (KeyMatches(labels[i]))
            {
                return true;
            }
        }

        return false;
    }

    private bool KeyMatches(Label label)
    {
        if (Source != Label.SourceAny && Source != label.Source)
        {
            return false;
        }

        if (_cidr is { } cidr && label.Source == Label.SourceCidr)
        {
            return IpPrefix.TryParse(label.Key, out var p) && cidr.Contains(p);
        }

        return string.Equals(label.Key, Key, StringComparison.Ordinal);
    }
}
