namespace Membrane.Policy.Model;

/// <summary>
/// One label with its source, as Cilium writes it: <c>source:key=value</c> (e.g. <c>k8s:app=frontend</c>,
/// <c>reserved:world</c>). Sources: <c>unspec</c>, <c>any</c>, <c>k8s</c>, <c>reserved</c>, <c>cidr</c>, ...
/// </summary>
/// <param name="Source">Label source; <c>any</c> in a selector matches every source.</param>
/// <param name="Key">Label key (may contain dots and slashes).</param>
/// <param name="Value">Label value; empty for value-less labels such as <c>reserved:host</c>.</param>
public readonly record struct Label(string Source, string Key, string Value) : IComparable<Label>
{
    /// <summary>Source for labels from Kubernetes pods and namespaces.</summary>
    public const string SourceK8s = "k8s";

    /// <summary>Source of Cilium's reserved labels (<c>reserved:host</c>, <c>reserved:world</c>, ...).</summary>
    public const string SourceReserved = "reserved";

    /// <summary>Selector source that matches a label of any source.</summary>
    public const string SourceAny = "any";

    /// <summary>Source of labels written without a source.</summary>
    public const string SourceUnspec = "unspec";

    /// <summary>Source of CIDR identity labels (<c>cidr:10.0.0.0/8</c>).</summary>
    public const string SourceCidr = "cidr";

    /// <summary>Parses <c>[source:]key[=value]</c>; a missing source becomes <paramref name="defaultSource"/>.</summary>
    public static Label Parse(string text, string defaultSource = SourceK8s)
    {
        ArgumentNullException.ThrowIfNull(text);
        var source = defaultSource;
        var rest = text;
        var colon = text.IndexOf(':');
        var eq = text.IndexOf('=');
        if (colon > 0 && (eq < 0 || colon < eq))
        {
            source = text[..colon];
            rest = text[(colon + 1)..];
        }

        var eqRest = rest.IndexOf('=');
        return eqRest < 0 ? new Label(source, rest, "") : new Label(source, rest[..eqRest], rest[(eqRest + 1)..]);
    }

    /// <inheritdoc />
    public int CompareTo(Label other)
    {
        var c = string.CompareOrdinal(Source, other.Source);
        if (c != 0)
        {
            return c;
        }

        c = string.CompareOrdinal(Key, other.Key);
        return c != 0 ? c : string.CompareOrdinal(Value, other.Value);
    }

    /// <summary><c>source:key=value</c>, or <c>source:key</c> when the value is empty.</summary>
    public override string ToString() => Value.Length == 0 ? $"{Source}:{Key}" : $"{Source}:{Key}={Value}";
}
