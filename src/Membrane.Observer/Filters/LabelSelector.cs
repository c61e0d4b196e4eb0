using System.Globalization;
using Membrane.Policy.Model;

namespace Membrane.Observer.Filters;

/// <summary>
/// A Kubernetes label selector (<c>app=web,env in (prod,stage),!canary,tier!=db</c>) matched against flow endpoint
/// labels, with Cilium's source prefixes: <c>k8s:app=web</c> matches only labels from source <c>k8s</c>,
/// <c>reserved:world</c> selects the world identity, and a key without a source (or with <c>any:</c>) matches every source.
/// </summary>
public sealed class LabelSelector
{
    private readonly Requirement[] _requirements;
    private readonly string _text;

    private LabelSelector(string text, Requirement[] requirements)
    {
        _text = text;
        _requirements = requirements;
    }

    /// <summary>
    /// Parses a selector. Requirements are separated by commas; each is <c>key</c>, <c>!key</c>, <c>key=value</c>,
    /// <c>key==value</c>, <c>key!=value</c>, <c>key in (v1,v2)</c>, <c>key notin (v1,v2)</c>, <c>key&gt;n</c> or <c>key&lt;n</c>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a selector; the message says what is wrong and where.</exception>
    public static LabelSelector Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        return new LabelSelector(text, parser.ParseRequirements());
    }

    /// <summary>True when every requirement holds for the labels (a null set is empty).</summary>
    public bool Matches(LabelSet? labels)
    {
        foreach (var requirement in _requirements.AsSpan())
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The selector as written.</summary>
    public override string ToString() => _text;

    private enum Operator
    {
        Exists,
        DoesNotExist,
        Equals,
        NotEquals,
        In,
        NotIn,
        GreaterThan,
        LessThan,
    }

    private sealed record Requirement(string? Source, string Key, Operator Op, string[] Values)
    {
        public bool Matches(LabelSet? labels)
        {
            var found = false;
            var valueMatched = false;
            var compareMatched = false;
            for (var i = 0; labels is not null && i < labels.Count; i++)
            {
                var label = labels[i];
                if (label.Key != Key || (Source is not null && Source != Label.SourceAny && label.Source != Source))
                {
                    continue;
                }

                found = true;
                if (Array.IndexOf(Values, label.Value) >= 0)
                {
                    valueMatched = true;
                }

                if (Op is Operator.GreaterThan or Operator.LessThan
                    && long.TryParse(label.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                {
                    var bound = long.Parse(Values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                    compareMatched |= Op == Operator.GreaterThan ? number > bound : number < bound;
                }
            }

            return Op switch
            {
                Operator.Exists => found,
                Operator.DoesNotExist => !found,
                Operator.Equals or Operator.In => valueMatched,
                Operator.NotEquals or Operator.NotIn => !valueMatched,
                _ => compareMatched,
            };
        }
    }

    private ref struct Parser(string text)
    {
        private int _pos;

        public Requirement[] ParseRequirements()
        {
            var result = new List<Requirement>();
            SkipSpace();
            if (_pos == text.Length)
            {
                throw Error("empty selector");
            }

            while (true)
            {
                result.Add(ParseRequirement());
                SkipSpace();
                if (_pos == text.Length)
                {
                    return [.. result];
                }

                if (text[_pos] != ',')
                {
                    throw Error($"unexpected '{text[_pos]}'");
                }

                _pos++;
            }
        }

        private Requirement ParseRequirement()
        {
            SkipSpace();
            if (Peek('!') && !PeekAt(1, '='))
            {
                _pos++;
                SkipSpace();
                var (source, key) = ParseKey();
                return new Requirement(source, key, Operator.DoesNotExist, []);
            }

            var (src, k) = ParseKey();
            SkipSpace();
            if (_pos == text.Length || text[_pos] == ',')
            {
                return new Requirement(src, k, Operator.Exists, []);
            }

            if (Consume("!="))
            {
                return new Requirement(src, k, Operator.NotEquals, [ParseValue()]);
            }

            if (Consume("==") || Consume("="))
            {
                return new Requirement(src, k, Operator.Equals, [ParseValue()]);
            }

            if (Consume(">") || Consume("<"))
            {
                var op = text[_pos - 1] == '>' ? Operator.GreaterThan : Operator.LessThan;
                var start = _pos;
                var value = ParseValue();
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    _pos = start;
                    throw Error($"'{text[start - 1]}' needs an integer value, got \"{value}\"");
                }

                return new Requirement(src, k, op, [value]);
            }

            var word = ParseWord();
            var setOp = word switch
            {
                "in" => Operator.In,
                "notin" => Operator.NotIn,
                _ => throw Error(word.Length == 0
                    ? $"expected an operator (=, ==, !=, in, notin, >, <) after \"{k}\""
                    : $"unknown operator \"{word}\" (expected in or notin)"),
            };
            SkipSpace();
            if (!Consume("("))
            {
                throw Error($"expected '(' after {word}");
            }

            var values = new List<string>();
            while (true)
            {
                values.Add(ParseValue());
                SkipSpace();
                if (Consume(")"))
                {
                    break;
                }

                if (!Consume(","))
                {
                    throw Error("expected ',' or ')' in value list");
                }
            }

            return new Requirement(src, k, setOp, [.. values]);
        }

        private (string? Source, string Key) ParseKey()
        {
            var start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '.' or '-' or '_' or '/' or ':'))
            {
                _pos++;
            }

            var token = text[start.._pos];
            if (token.Length == 0)
            {
                throw Error("expected a label key");
            }

            var colon = token.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return (null, token);
            }

            if (colon == 0 || colon == token.Length - 1 || token.IndexOf(':', colon + 1) >= 0)
            {
                _pos = start;
                throw Error($"invalid label key \"{token}\" (expected [source:]key)");
            }

            return (token[..colon], token[(colon + 1)..]);
        }

        private string ParseValue()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '.' or '-' or '_'))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private string ParseWord()
        {
            var start = _pos;
            while (_pos < text.Length && char.IsAsciiLetter(text[_pos]))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && text[_pos] == ' ')
            {
                _pos++;
            }
        }

        private readonly bool Peek(char c) => _pos < text.Length && text[_pos] == c;

        private readonly bool PeekAt(int offset, char c) => _pos + offset < text.Length && text[_pos + offset] == c;

        private bool Consume(string token)
        {
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) != 0)
            {
                return false;
            }

            _pos += token.Length;
            return true;
        }

        private readonly FormatException Error(string message) =>
            new($"invalid label selector \"{text}\" at column {_pos + 1}: {message}");
    }
}
