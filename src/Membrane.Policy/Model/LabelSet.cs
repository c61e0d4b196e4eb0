using System.Collections;

namespace Membrane.Policy.Model;

/// <summary>
/// An immutable, sorted set of labels with value equality: the input of identity allocation and the thing
/// selectors match. At most one label per (source, key).
/// </summary>
public sealed class LabelSet : IReadOnlyList<Label>, IEquatable<LabelSet>
{
    private readonly Label[] _labels;
    private readonly int _hash;

    /// <summary>The empty label set.</summary>
    public static LabelSet Empty { get; } = new([]);

    /// <summary>Creates a set from labels; a later label with the same source and key replaces an earlier one.</summary>
    public LabelSet(IEnumerable<Label> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var byKey = new Dictionary<(string, string), Label>();
        foreach (var l in labels)
        {
            byKey[(l.Source, l.Key)] = l;
        }

        _labels = [.. byKey.Values];
        Array.Sort(_labels);
        var h = new HashCode();
        foreach (var l in _labels)
        {
            h.Add(l);
        }

        _hash = h.ToHashCode();
    }

    /// <summary>Parses comma-separated <c>[source:]key=value</c> labels (the CLI's LABELS syntax).</summary>
    public static LabelSet Parse(string text, string defaultSource = Label.SourceK8s) =>
        new(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => Label.Parse(t, defaultSource)));

    /// <inheritdoc />
    public int Count => _labels.Length;

    /// <inheritdoc />
    public Label this[int index] => _labels[index];

    /// <summary>Finds the label with this key; a <paramref name="source"/> of <c>any</c> (or null) matches every source.</summary>
    public bool TryGet(string key, string? source, out Label label)
    {
        foreach (var l in _labels)
        {
            if (l.Key == key && (source is null || source == Label.SourceAny || source == l.Source))
            {
                label = l;
                return true;
            }
        }

        label = default;
        return false;
    }

    /// <summary>Returns a new set with <paramref name="extra"/> added (replacing same source and key).</summary>
    public LabelSet With(params IEnumerable<Label> extra) => new(_labels.Concat(extra));

    /// <inheritdoc />
    public bool Equals(LabelSet? other) =>
        other is not null && (ReferenceEquals(this, other) || (_hash == other._hash && _labels.AsSpan().SequenceEqual(other._labels)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LabelSet);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <inheritdoc />
    public IEnumerator<Label> GetEnumerator() => ((IEnumerable<Label>)_labels).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Comma-separated <c>source:key=value</c> labels in sorted order.</summary>
    public override string ToString() => string.Join(',', _labels);
}
