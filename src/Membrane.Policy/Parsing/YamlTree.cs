using Membrane.Policy.Model;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Membrane.Policy.Parsing;

/// <summary>A YAML (or JSON) value with the place it was written. Built from YamlDotNet's event stream.</summary>
internal abstract class YamlNode(SourceLocation location)
{
    public SourceLocation Location { get; } = location;

    /// <summary>Number of nodes in this subtree; bounds alias expansion.</summary>
    public int Size { get; protected set; } = 1;

    public abstract string KindName { get; }
}

internal sealed class YamlScalar(SourceLocation location, string text, ScalarStyle style, string? tag) : YamlNode(location)
{
    public string Text { get; } = text;

    /// <summary>True when the scalar was quoted (or a block scalar): its text is a string, never a number, bool or null.</summary>
    public bool IsQuoted { get; } = style is not (ScalarStyle.Plain or ScalarStyle.Any);

    public string? Tag { get; } = tag;

    /// <summary>YAML 1.2 core schema null (also what JSON's <c>null</c> reads as).</summary>
    public bool IsNull => Tag == "tag:yaml.org,2002:null" ||
        (!IsQuoted && Tag is null && Text is "" or "~" or "null" or "Null" or "NULL");

    public override string KindName => IsNull ? "null" : "a string";
}

internal sealed class YamlMapping(SourceLocation location) : YamlNode(location)
{
    public List<KeyValuePair<YamlScalar, YamlNode>> Entries { get; } = [];

    public override string KindName => "an object";

    public void Add(YamlScalar key, YamlNode value)
    {
        Entries.Add(new(key, value));
        Size += value.Size + 1;
    }
}

internal sealed class YamlSequence(SourceLocation location) : YamlNode(location)
{
    public List<YamlNode> Items { get; } = [];

    public override string KindName => "a list";

    public void Add(YamlNode item)
    {
        Items.Add(item);
        Size += item.Size;
    }
}

/// <summary>
/// Reads a YAML or JSON text into one <see cref="YamlNode"/> per document, keeping every node's line and column.
/// Pure: works on the text it is handed. Syntax errors, duplicate keys, non-scalar keys and oversized documents
/// become <see cref="PolicyError"/>s; a syntax error ends the stream (YAML cannot resynchronise after one).
/// </summary>
internal static class YamlTreeReader
{
    /// <summary>Nesting deeper than this is rejected (no policy comes close; it bounds the reader's recursion).</summary>
    public const int MaxDepth = 256;

    /// <summary>Nodes per document counting alias expansion ("billion laughs" guard).</summary>
    public const int MaxNodesPerDocument = 1_000_000;

    public static List<(YamlNode Root, SourceLocation Start)> ReadDocuments(string text, string file, List<PolicyError> errors)
    {
        var documents = new List<(YamlNode, SourceLocation)>();
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var stack = new Stack<Frame>();
        YamlNode? root = null;
        SourceLocation docStart = default;
        var expanded = 0;
        var skipping = false;
        var lastMark = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                lastMark = ev.End;
                switch (ev)
                {
                    case DocumentStart:
                        anchors.Clear();
                        root = null;
                        expanded = 0;
                        skipping = false;
                        docStart = At(file, ev.Start);
                        break;
                    case DocumentEnd:
                        if (root is not null && !skipping)
                        {
                            documents.Add((root, docStart));
                        }

                        break;
                    case Scalar s:
                        {
                            var node = new YamlScalar(At(file, s.Start), s.Value, s.Style, s.Tag.IsEmpty ? null : s.Tag.Value);
                            Remember(anchors, s.Anchor, node);
                            Attach(node);
                            break;
                        }

                    case MappingStart m:
                        {
                            var node = new YamlMapping(At(file, m.Start));
                            Remember(anchors, m.Anchor, node);
                            Push(node, m.Start);
                            break;
                        }

                    case SequenceStart q:
                        {
                            var node = new YamlSequence(At(file, q.Start));
                            Remember(anchors, q.Anchor, node);
                            Push(node, q.Start);
                            break;
                        }

                    case MappingEnd or SequenceEnd:
                        {
                            var frame = stack.Pop();
                            Attach(frame.Node);
                            break;
                        }

                    case AnchorAlias a:
                        if (!anchors.TryGetValue(a.Value.Value, out var target))
                        {
                            errors.Add(new(At(file, a.Start), "", $"invalid YAML: unknown alias \"*{a.Value}\""));
                            skipping = true;
                            break;
                        }

                        expanded += target.Size;
                        if (expanded > MaxNodesPerDocument)
                        {
                            errors.Add(new(At(file, a.Start), "", $"document too large: more than {MaxNodesPerDocument} values after alias expansion"));
                            skipping = true;
                        }

                        Attach(target);
                        break;
                }
            }
        }
        catch (YamlException e)
        {
            errors.Add(new(At(file, e.Start), "", $"invalid YAML: {Describe(e)}"));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (without a position) on some malformed flow collections, such as
            // an unclosed "{" followed by block content; report it where parsing stopped.
            errors.Add(new(At(file, lastMark), "", "invalid YAML: cannot parse the text after this point (an unclosed \"{\" or \"[\"?)"));
        }

        return documents;

        void Push(YamlNode node, Mark start)
        {
            if (stack.Count >= MaxDepth)
            {
                throw new YamlException(start, start, $"nesting deeper than {MaxDepth} levels");
            }

            stack.Push(new Frame(node));
        }

        void Attach(YamlNode node)
        {
            if (stack.Count == 0)
            {
                root = node;
                return;
            }

            var parent = stack.Peek();
            switch (parent.Node)
            {
                case YamlSequence seq:
                    seq.Add(node);
                    break;
                case YamlMapping map when parent.PendingKey is null:
                    if (node is YamlScalar key)
                    {
                        parent.PendingKey = key;
                    }
                    else
                    {
                        errors.Add(new(node.Location, "", "invalid YAML: a key must be a plain string, not " + node.KindName));
                        skipping = true;
                        parent.PendingKey = new YamlScalar(node.Location, "?", ScalarStyle.DoubleQuoted, null);
                    }

                    break;
                case YamlMapping map:
                    var pendingKey = parent.PendingKey!;
                    parent.PendingKey = null;
                    if (pendingKey.Text == "<<" && !pendingKey.IsQuoted)
                    {
                        Merge(map, node);
                        break;
                    }

                    var duplicate = map.Entries.FindIndex(e => e.Key.Text == pendingKey.Text);
                    if (duplicate >= 0)
                    {
                        var first = map.Entries[duplicate].Key.Location;
                        errors.Add(new(pendingKey.Location, "", $"duplicate key \"{pendingKey.Text}\" (first written at line {first.Line}, column {first.Column})"));
                        break;
                    }

                    map.Add(pendingKey, node);
                    break;
            }
        }

        // YAML 1.1 merge key (`<<: *base`), which Kubernetes' YAML reader honours: keys already present win.
        void Merge(YamlMapping into, YamlNode source)
        {
            IEnumerable<YamlNode> sources = source is YamlSequence seq ? seq.Items : [source];
            foreach (var s in sources)
            {
                if (s is not YamlMapping m)
                {
                    errors.Add(new(s.Location, "", "invalid YAML: the merge key \"<<\" needs an object or a list of objects"));
                    skipping = true;
                    continue;
                }

                foreach (var entry in m.Entries)
                {
                    if (!into.Entries.Exists(e => e.Key.Text == entry.Key.Text))
                    {
                        into.Add(entry.Key, entry.Value);
                    }
                }
            }
        }
    }

    private static void Remember(Dictionary<string, YamlNode> anchors, AnchorName anchor, YamlNode node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    private static SourceLocation At(string file, Mark mark) => new(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    // YamlDotNet prefixes its messages with "(Line: 3, Col: 5, Idx: 20) - (Line ...): "; the location is printed separately.
    private static string Describe(YamlException e)
    {
        var message = e.Message;
        var cut = message.IndexOf("): ", StringComparison.Ordinal);
        if (message.StartsWith('(') && cut > 0)
        {
            message = message[(cut + 3)..];
        }

        return message.TrimEnd('.');
    }

    private sealed class Frame(YamlNode node)
    {
        public YamlNode Node { get; } = node;

        public YamlScalar? PendingKey { get; set; }
    }
}
