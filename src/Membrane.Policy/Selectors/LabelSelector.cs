using System.Collections.Immutable;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Selectors;

/// <summary>
/// A compiled label selector: the AND of its requirements over an identity's labels. Built from a policy's
/// <see cref="EndpointSelector"/> (with namespace scoping applied by <see cref="SelectorFactory"/>), from entities or
/// from CIDRs. Two selectors with the same requirements are equal and share one selector-cache entry.
/// The selector without requirements selects every identity (the wildcard).
/// </summary>
public sealed class LabelSelector : IEquatable<LabelSelector>
{
    private readonly string _text;

    /// <summary>Creates a selector from requirements (order and duplicates do not matter).</summary>
    public LabelSelector(IEnumerable<LabelRequirement> requirements)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        Requirements = [.. requirements.DistinctBy(r => r.ToString()).OrderBy(r => r.ToString(), StringComparer.Ordinal)];
        _text = "{" + string.Join(", ", Requirements) + "}";
        RequiresCidr = Requirements.Any(r => r.Source == Label.SourceCidr && r.Operator == RequirementOperator.Exists);
    }

    /// <summary>The selector that selects every identity.</summary>
    public static LabelSelector Wildcard { get; } = new([]);

    /// <summary>The requirements, in canonical order.</summary>
    public ImmutableArray<LabelRequirement> Requirements { get; }

    /// <summary>True if only identities with a <c>cidr:</c> label can match (a CIDR selector).</summary>
    public bool RequiresCidr { get; }

    /// <summary>True for the selector without requirements.</summary>
    public bool IsWildcard => Requirements.IsEmpty;

    /// <summary>The selector of one exact label (<c>reserved:host</c>, <c>k8s:app=x</c>).</summary>
    public static LabelSelector ForLabel(Label label) =>
        new([new LabelRequirement(label.Source, label.Key, RequirementOperator.In, [label.Value])]);

    /// <summary>Selects CIDR identities inside <paramref name="prefix"/> except those inside one of <paramref name="except"/>.</summary>
    public static LabelSelector ForCidr(IpPrefix prefix, IEnumerable<IpPrefix> except)
    {
        ArgumentNullException.ThrowIfNull(except);
        var requirements = new List<LabelRequirement>
        {
            new(Label.SourceCidr, prefix.ToString(), RequirementOperator.Exists, []),
        };
        requirements.AddRange(except.Select(e => new LabelRequirement(Label.SourceCidr, e.ToString(), RequirementOperator.DoesNotExist, [])));
        return new LabelSelector(requirements);
    }

    /// <summary>True if every requirement holds for <paramref name="labels"/>.</summary>
    public bool Matches(LabelSet labels)
    {
        foreach (var r in Requirements)
        {
            if (!r.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True if some requirement names this key (with source <c>k8s</c> or <c>any</c>) or a key starting with it.</summary>
    internal bool HasK8sKey(string key, bool prefix) =>
        Requirements.Any(r => (r.Source == Label.SourceK8s || r.Source == Label.SourceAny)
            && (prefix ? r.Key.StartsWith(key, StringComparison.Ordinal) : r.Key == key));

    /// <summary>True if some requirement uses the <c>reserved</c> source.</summary>
    internal bool HasReservedKey => Requirements.Any(r => r.Source == Label.SourceReserved);

    /// <inheritdoc />
    public bool Equals(LabelSelector? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LabelSelector);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    /// <summary>Canonical text, e.g. <c>{any:app=frontend, k8s:io.kubernetes.pod.namespace=default}</c>.</summary>
    public override string ToString() => _text;
}
