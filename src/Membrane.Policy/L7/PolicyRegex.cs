using System.Text.RegularExpressions;

namespace Membrane.Policy.L7;

/// <summary>
/// A policy regex (HTTP <c>method</c>, <c>path</c>, <c>host</c>) compiled for full-match evaluation in linear time.
/// Cilium validates these with Go's RE2 and Envoy matches them with RE2 as a full match; we use .NET's
/// <see cref="RegexOptions.NonBacktracking"/> engine (no catastrophic backtracking: a policy author cannot ReDoS the
/// proxy), anchored as <c>^(?:pattern)\z</c>. Plain literals, <c>literal.*</c> and the subset
/// <see cref="SimplePattern"/> covers (literals, <c>.</c>, <c>?</c>, <c>*</c>, <c>+</c>) skip the regex engine.
/// </summary>
public sealed class PolicyRegex
{
    private const string MetaCharacters = "\\.+*?()|[]{}^$";

    private readonly Regex? _regex;
    private readonly string? _literal;
    private readonly string? _prefix;
    private readonly SimplePattern? _simple;

    private PolicyRegex(string pattern, Regex? regex, string? literal, string? prefix, SimplePattern? simple = null)
    {
        Pattern = pattern;
        _regex = regex;
        _literal = literal;
        _prefix = prefix;
        _simple = simple;
    }

    /// <summary>The pattern as written in the policy.</summary>
    public string Pattern { get; }

    /// <summary>Compiles <paramref name="pattern"/>; on failure returns false and an RE2-style reason such as <c>missing )</c>.</summary>
    public static bool TryCreate(string pattern, out PolicyRegex? regex, out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        regex = null;
        var body = pattern;
        if (body.Length > 0 && body[0] == '^')
        {
            body = body[1..];
        }

        if (body.Length > 0 && body[^1] == '$' && (body.Length < 2 || body[^2] != '\\'))
        {
            body = body[..^1];
        }

        if (body.AsSpan().IndexOfAny(MetaCharacters) < 0)
        {
            regex = new PolicyRegex(pattern, null, body, null);
            error = null;
            return true;
        }

        if (body.EndsWith(".*", StringComparison.Ordinal) && body.AsSpan(0, body.Length - 2).IndexOfAny(MetaCharacters) < 0)
        {
            regex = new PolicyRegex(pattern, null, null, body[..^2]);
            error = null;
            return true;
        }

        if (SimplePattern.TryParse(body) is { } simple)
        {
            regex = new PolicyRegex(pattern, null, null, null, simple);
            error = null;
            return true;
        }

        // RE2 accepts (?P<name>...) for named groups; .NET spells it (?<name>...).
        var translated = pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
        try
        {
            // Parse the pattern on its own first: inside the anchoring wrapper an unterminated "[" would swallow
            // ")\z" and the error would name the wrapper ("invalid escape sequence") instead of the missing "]".
            // The backtracking parser is enough for syntax and costs microseconds; NonBacktracking construction
            // below costs milliseconds.
            _ = new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);
            var r = new Regex(
                $"^(?:{translated})\\z",
                RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);
            regex = new PolicyRegex(pattern, r, null, null);
            error = null;
            return true;
        }
        catch (RegexParseException e)
        {
            error = Describe(e.Error, e.Message);
            return false;
        }
        catch (NotSupportedException)
        {
            // NonBacktracking rejects backreferences, lookarounds and atomic groups; RE2 has none of them either.
            error = "invalid or unsupported Perl syntax";
            return false;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// Checks <paramref name="pattern"/> as <see cref="TryCreate"/> would, without building the linear-time matcher
    /// when the pattern has no construct that only that engine can reject (groups with <c>(?</c>, backreferences,
    /// counted repetitions): policy validation checks every pattern of a set, and building the matcher costs
    /// milliseconds each.
    /// </summary>
    public static bool TryValidate(string pattern, out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var needsMatcher = pattern.Contains("(?", StringComparison.Ordinal) || pattern.Contains('{', StringComparison.Ordinal) ||
            pattern.Contains("\\k", StringComparison.Ordinal) || HasBackreference(pattern);
        if (needsMatcher)
        {
            return TryCreate(pattern, out _, out error);
        }

        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);
            error = null;
            return true;
        }
        catch (RegexParseException e)
        {
            error = Describe(e.Error, e.Message);
            return false;
        }

        static bool HasBackreference(string p)
        {
            for (var i = 0; i + 1 < p.Length; i++)
            {
                if (p[i] == '\\')
                {
                    if (char.IsAsciiDigit(p[i + 1]) && p[i + 1] != '0')
                    {
                        return true;
                    }

                    i++;
                }
            }

            return false;
        }
    }

    /// <summary>Compiles a pattern already validated; throws <see cref="ArgumentException"/> if it is invalid.</summary>
    public static PolicyRegex Create(string pattern) =>
        TryCreate(pattern, out var r, out var error) ? r! : throw new ArgumentException($"invalid regex \"{pattern}\": {error}", nameof(pattern));

    /// <summary>True if the whole of <paramref name="input"/> matches. Allocation-free.</summary>
    public bool IsMatch(ReadOnlySpan<char> input)
    {
        if (_literal is not null)
        {
            return input.SequenceEqual(_literal);
        }

        if (_prefix is not null)
        {
            // '.' does not match '\n' in RE2 or .NET without (?s).
            return input.StartsWith(_prefix, StringComparison.Ordinal) && input[_prefix.Length..].IndexOf('\n') < 0;
        }

        return _simple is not null ? _simple.IsMatch(input) : _regex!.IsMatch(input);
    }

    /// <inheritdoc />
    public override string ToString() => Pattern;

    private static string Describe(RegexParseError error, string fallback) => error switch
    {
        RegexParseError.InsufficientClosingParentheses => "missing )",
        RegexParseError.InsufficientOpeningParentheses => "unexpected )",
        RegexParseError.UnterminatedBracket => "missing ]",
        RegexParseError.QuantifierAfterNothing => "missing argument to repetition operator",
        RegexParseError.NestedQuantifiersNotParenthesized => "invalid nested repetition operator",
        RegexParseError.ReversedCharacterRange => "invalid character class range",
        RegexParseError.ReversedQuantifierRange => "invalid repeat count",
        RegexParseError.UnescapedEndingBackslash => "trailing backslash at end of expression",
        RegexParseError.UnrecognizedEscape => "invalid escape sequence",
        RegexParseError.InvalidGroupingConstruct => "invalid or unsupported Perl syntax",
        _ => fallback,
    };
}
