using System.Globalization;
using Membrane.Policy.Model;
using Membrane.Policy.Validation;

namespace Membrane.Policy.Parsing;

/// <summary>The fields an object may have, and the fields it may not have with the reason why.</summary>
/// <param name="Known">Field names that are read.</param>
/// <param name="Rejected">Field names that exist in Cilium's schema (or are easy mistakes) → the error to report.</param>
internal sealed record ObjectSchema(IReadOnlyList<string> Known, IReadOnlyDictionary<string, string>? Rejected = null)
{
    public IEnumerable<string> AllNames => Rejected is null ? Known : Known.Concat(Rejected.Keys);
}

/// <summary>
/// State for reading one resource: where errors go, the path prefix errors carry (<c>items[2].</c> inside a List),
/// and the field locations recorded for <see cref="PolicyResource.Locations"/> (keys relative to the resource).
/// </summary>
internal sealed class DocumentContext(string errorPrefix, List<PolicyError> errors)
{
    private readonly int _errorsAtStart = errors.Count;

    public Dictionary<string, SourceLocation> Locations { get; } = new(StringComparer.Ordinal);

    public bool HasErrors => errors.Count > _errorsAtStart;

    public void Error(SourceLocation location, string path, string message) =>
        errors.Add(new PolicyError(location, PrefixPath(path), message));

    public string PrefixPath(string path) =>
        errorPrefix.Length == 0 ? path : path.Length == 0 ? errorPrefix : $"{errorPrefix}.{path}";

    /// <summary>
    /// Reads <paramref name="node"/> as an object of <paramref name="schema"/>: reports unknown fields (with a
    /// did-you-mean hint) and rejected fields, records where every field was written, and returns its fields.
    /// Null when the node is null (absent) or not an object (reported).
    /// </summary>
    public Fields? Object(YamlNode? node, string path, ObjectSchema schema)
    {
        if (node is null || node is YamlScalar { IsNull: true })
        {
            return null;
        }

        if (node is not YamlMapping map)
        {
            Error(node.Location, path, $"expected an object, found {node.KindName}");
            return null;
        }

        var fields = new Fields(this, path, map);
        foreach (var (key, value) in map.Entries)
        {
            var fieldPath = FieldPath.Member(path, key.Text);
            if (schema.Rejected is not null && schema.Rejected.TryGetValue(key.Text, out var rejection))
            {
                if (value is not YamlScalar { IsNull: true })
                {
                    Error(key.Location, fieldPath, rejection);
                }

                Locations[fieldPath] = key.Location;

                fields.Add(key, value);
                continue;
            }

            if (!schema.Known.Contains(key.Text))
            {
                Error(key.Location, fieldPath, "unknown field" + Suggestions.Hint(key.Text, schema.AllNames));
                continue;
            }

            Locations[fieldPath] = value is YamlScalar { IsNull: false } ? value.Location : key.Location;
            fields.Add(key, value);
        }

        return fields;
    }

    /// <summary>Records where a list item was written.</summary>
    public void RecordItem(string path, YamlNode node) => Locations[path] = node.Location;

    /// <summary>A scalar's text; an error (and null) for objects and lists. Plain numbers and booleans read as their text.</summary>
    public string? Text(YamlNode node, string path)
    {
        if (node is YamlScalar s)
        {
            return s.IsNull ? null : s.Text;
        }

        Error(node.Location, path, $"expected a string, found {node.KindName}");
        return null;
    }

    /// <summary>A list's items; null for null (absent); an error (and null) for anything else.</summary>
    public List<T>? List<T>(YamlNode? node, string path, Func<YamlNode, string, T?> readItem)
        where T : class
    {
        if (node is null || node is YamlScalar { IsNull: true })
        {
            return null;
        }

        if (node is not YamlSequence seq)
        {
            Error(node.Location, path, $"expected a list, found {node.KindName}");
            return null;
        }

        var result = new List<T>(seq.Items.Count);
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var itemPath = FieldPath.Index(path, i);
            RecordItem(itemPath, seq.Items[i]);
            if (readItem(seq.Items[i], itemPath) is { } item)
            {
                result.Add(item);
            }
        }

        return result;
    }

    /// <summary>A list of strings (null items are errors).</summary>
    public List<string>? StringList(YamlNode? node, string path) =>
        List(node, path, (item, itemPath) =>
        {
            var text = Text(item, itemPath);
            if (text is null && item is YamlScalar { IsNull: true })
            {
                Error(item.Location, itemPath, "expected a string, found null");
            }

            return text;
        });

    /// <summary>An object of string values (<c>matchLabels</c>, <c>metadata.labels</c>); keys keep their order.</summary>
    public Dictionary<string, string>? StringMap(YamlNode? node, string path)
    {
        if (node is null || node is YamlScalar { IsNull: true })
        {
            return null;
        }

        if (node is not YamlMapping map)
        {
            Error(node.Location, path, $"expected an object, found {node.KindName}");
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Entries)
        {
            var entryPath = FieldPath.Member(path, key.Text);
            Locations[entryPath] = key.Location;
            if (value is YamlScalar { IsNull: true })
            {
                // Kubernetes reads `key:` (null) as the empty string in a map[string]string.
                result[key.Text] = "";
                continue;
            }

            if (Text(value, entryPath) is { } text)
            {
                result[key.Text] = text;
            }
        }

        return result;
    }

    /// <summary>An integer written as a plain YAML/JSON number.</summary>
    public int? Integer(YamlNode? node, string path)
    {
        if (node is null || node is YamlScalar { IsNull: true })
        {
            return null;
        }

        if (node is YamlScalar { IsQuoted: false } s && int.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        var found = node is YamlScalar sc ? $"\"{sc.Text}\"" : node.KindName;
        Error(node.Location, path, $"expected an integer, found {found}");
        return null;
    }

    /// <summary>A boolean written as plain <c>true</c> or <c>false</c>.</summary>
    public bool? Boolean(YamlNode? node, string path)
    {
        if (node is null || node is YamlScalar { IsNull: true })
        {
            return null;
        }

        if (node is YamlScalar { IsQuoted: false } s)
        {
            switch (s.Text)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        var found = node is YamlScalar sc ? $"\"{sc.Text}\"" : node.KindName;
        Error(node.Location, path, $"expected true or false, found {found}");
        return null;
    }
}

/// <summary>The fields of one object, in the order written, with typed accessors that report type errors.</summary>
internal sealed class Fields(DocumentContext context, string path, YamlMapping node)
{
    private readonly Dictionary<string, (YamlScalar Key, YamlNode Value)> _byName = new(StringComparer.Ordinal);

    public string Path { get; } = path;

    public YamlMapping Node { get; } = node;

    public SourceLocation Location => Node.Location;

    public IEnumerable<string> Names => _byName.Keys;

    public void Add(YamlScalar key, YamlNode value) => _byName[key.Text] = (key, value);

    /// <summary>True when the field is written with a non-null value.</summary>
    public bool Has(string name) => _byName.TryGetValue(name, out var e) && e.Value is not YamlScalar { IsNull: true };

    /// <summary>True when the field is written at all, even as <c>null</c>.</summary>
    public bool IsWritten(string name) => _byName.ContainsKey(name);

    public YamlNode? Value(string name) => _byName.TryGetValue(name, out var e) ? e.Value : null;

    public SourceLocation KeyLocation(string name) => _byName.TryGetValue(name, out var e) ? e.Key.Location : Location;

    /// <summary>Where the value of <paramref name="name"/> was written (its key when the value is null), else the object.</summary>
    public SourceLocation ValueLocation(string name) =>
        _byName.TryGetValue(name, out var e) ? (e.Value is YamlScalar { IsNull: true } ? e.Key.Location : e.Value.Location) : Location;

    public string PathOf(string name) => FieldPath.Member(Path, name);

    public string? String(string name) => Value(name) is { } v ? context.Text(v, PathOf(name)) : null;

    public int? Integer(string name) => context.Integer(Value(name), PathOf(name));

    public bool? Boolean(string name) => context.Boolean(Value(name), PathOf(name));

    public List<string>? StringList(string name) => context.StringList(Value(name), PathOf(name));

    public Dictionary<string, string>? StringMap(string name) => context.StringMap(Value(name), PathOf(name));

    public List<T>? List<T>(string name, Func<YamlNode, string, T?> readItem)
        where T : class => context.List(Value(name), PathOf(name), readItem);

    public Fields? Object(string name, ObjectSchema schema) => context.Object(Value(name), PathOf(name), schema);

    /// <summary>Reports a missing required field at the object that should hold it.</summary>
    public void Require(string name)
    {
        if (!Has(name))
        {
            context.Error(Location, PathOf(name), "required field is missing");
        }
    }
}
