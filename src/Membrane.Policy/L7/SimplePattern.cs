namespace Membrane.Policy.L7;

/// <summary>
/// A matcher for the regex subset most policies use: literal characters, escaped punctuation (<c>\.</c>), <c>.</c>
/// (any character but newline, as in RE2 without the <c>s</c> flag), each optionally followed by <c>?</c>, <c>*</c> or
/// <c>+</c>. It simulates the pattern's NFA with one bit per position (Shift-And), so a full match costs a few
/// operations per input character, never backtracks and allocates nothing. Anything else (groups, alternation,
/// classes, counted or lazy repetition, letter escapes) is left to the regex engine.
/// </summary>
internal sealed class SimplePattern
{
    private const int MaxAtoms = 62;

    private readonly ulong[] _ascii = new ulong[128];
    private readonly (char Literal, bool Any)[] _atoms;
    private readonly ulong _any;
    private readonly ulong _advance;
    private readonly ulong _loop;
    private readonly ulong _skippable;
    private readonly ulong _accept;
    private readonly ulong _start;
    private readonly bool _fixedLength;

    // The leading literal atoms, compared as one span before the NFA takes over; for fixed-length patterns, the
    // literal text with the positions of '.' atoms.
    private readonly string _prefix;
    private readonly string _text;
    private readonly int[] _dots;

    private SimplePattern(List<(char Literal, bool Any, char Quantifier)> atoms)
    {
        _atoms = [.. atoms.Select(a => (a.Literal, a.Any))];
        _fixedLength = atoms.All(a => a.Quantifier == '\0');
        _text = new string([.. atoms.Select(a => a.Any ? '.' : a.Literal)]);
        _dots = [.. atoms.Select((a, i) => (a, i)).Where(x => x.a.Any).Select(x => x.i)];
        var prefixLength = atoms.TakeWhile(a => !a.Any && a.Quantifier == '\0').Count();
        _prefix = _text[..prefixLength];
        for (var i = 0; i < atoms.Count; i++)
        {
            var bit = 1UL << i;
            var (literal, any, q) = atoms[i];
            if (any)
            {
                _any |= bit;
            }
            else if (literal < 128)
            {
                _ascii[literal] |= bit;
            }

            if (q == '*')
            {
                _loop |= bit;
            }
            else
            {
                _advance |= bit;
            }

            if (q is '*' or '?')
            {
                _skippable |= bit;
            }
        }

        _accept = 1UL << atoms.Count;
        _start = Closure(1UL << prefixLength);
    }

    /// <summary>Parses <paramref name="body"/> (anchors already removed); null when it is outside the subset.</summary>
    public static SimplePattern? TryParse(string body)
    {
        var atoms = new List<(char Literal, bool Any, char Quantifier)>();
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            (char, bool) atom;
            switch (c)
            {
                case '.':
                    atom = ('\0', true);
                    break;
                case '\\':
                    if (i + 1 >= body.Length || char.IsAsciiLetterOrDigit(body[i + 1]) || body[i + 1] > 127)
                    {
                        return null;
                    }

                    atom = (body[++i], false);
                    break;
                case '(' or ')' or '|' or '[' or ']' or '{' or '}' or '^' or '$' or '?' or '*' or '+':
                    return null;
                default:
                    atom = (c, false);
                    break;
            }

            var quantifier = '\0';
            if (i + 1 < body.Length && body[i + 1] is '?' or '*' or '+')
            {
                quantifier = body[++i];
                if (i + 1 < body.Length && body[i + 1] is '?' or '*' or '+' or '{')
                {
                    // Lazy (*?) or nested repetition: leave it to the regex engine (and its error messages).
                    return null;
                }
            }

            if (quantifier == '+')
            {
                // a+ is a a*.
                atoms.Add((atom.Item1, atom.Item2, '\0'));
                quantifier = '*';
            }

            atoms.Add((atom.Item1, atom.Item2, quantifier));
            if (atoms.Count > MaxAtoms)
            {
                return null;
            }
        }

        return new SimplePattern(atoms);
    }

    /// <summary>True if the whole of <paramref name="input"/> matches.</summary>
    public bool IsMatch(ReadOnlySpan<char> input)
    {
        if (_fixedLength)
        {
            if (input.Length != _text.Length)
            {
                return false;
            }

            var from = 0;
            foreach (var dot in _dots)
            {
                if (input[dot] == '\n' || !input[from..dot].SequenceEqual(_text.AsSpan(from, dot - from)))
                {
                    return false;
                }

                from = dot + 1;
            }

            return input[from..].SequenceEqual(_text.AsSpan(from));
        }

        if (!input.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var state = _start;
        foreach (var c in input[_prefix.Length..])
        {
            var match = Mask(c);
            var active = state & match;
            state = Closure(((active & _advance) << 1) | (active & _loop));
            if (state == 0)
            {
                return false;
            }
        }

        return (state & _accept) != 0;
    }

    private ulong Mask(char c)
    {
        var any = c == '\n' ? 0 : _any;
        if (c < 128)
        {
            return any | _ascii[c];
        }

        var mask = any;
        for (var i = 0; i < _atoms.Length; i++)
        {
            if (!_atoms[i].Any && _atoms[i].Literal == c)
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    /// <summary>Adds the positions reachable without input: past every optional (<c>?</c>, <c>*</c>) atom.</summary>
    private ulong Closure(ulong state)
    {
        while (true)
        {
            var next = state | ((state & _skippable) << 1);
            if (next == state)
            {
                return state;
            }

            state = next;
        }
    }
}
