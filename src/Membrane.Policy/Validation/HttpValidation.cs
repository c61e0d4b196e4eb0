using Membrane.Policy.L7;
using Membrane.Policy.L7.Http;

namespace Membrane.Policy.Validation;

/// <summary>Checks of <c>rules.http[]</c> (Cilium <c>PortRuleHTTP.Sanitize</c>, reference §2.1).</summary>
internal static class HttpValidation
{
    /// <summary>Spellings of <c>headerMatches[].mismatch</c>.</summary>
    public static readonly string[] MismatchActions = ["LOG", "ADD", "DELETE", "REPLACE"];

    /// <summary>Checks that a method, path or host pattern compiles as a full-match linear-time regex.</summary>
    public static string? CheckRegex(string pattern) =>
        PolicyRegex.TryValidate(pattern, out var error) ? null : $"invalid regex \"{pattern}\": {error}";

    /// <summary>Checks a header field name: an HTTP token (RFC 9110 §5.1, §5.6.2).</summary>
    public static string? CheckHeaderName(string name)
    {
        if (name.Length == 0)
        {
            return "Header name missing";
        }

        foreach (var c in name)
        {
            if (!IsTokenChar(c))
            {
                return $"invalid header name \"{name}\": a header name is an HTTP token (letters, digits and !#$%&'*+-.^_`|~), RFC 9110 §5.1";
            }
        }

        return null;
    }

    /// <summary>Checks one <c>headers[]</c> entry: <c>"Name"</c> (presence) or <c>"Name: value"</c> (exact value).</summary>
    public static string? CheckHeader(string header)
    {
        // Cilium splits on the first space; the name keeps no trailing ':'.
        var space = header.IndexOf(' ');
        var name = (space < 0 ? header : header[..space]).TrimEnd(':');
        if (space < 0 && header.Contains(':', StringComparison.Ordinal))
        {
            return $"invalid header \"{header}\": write \"Name: value\" with a space after the colon (Cilium would read the whole text as a header name)";
        }

        return CheckHeaderName(name) is { } error ? $"invalid header \"{header}\": {error}" : null;
    }

    /// <summary>Parses a <c>mismatch</c> action; returns the error or null.</summary>
    public static string? ParseMismatch(string? written, out HeaderMismatchAction action)
    {
        action = written switch
        {
            null or "" => HeaderMismatchAction.Fail,
            "LOG" => HeaderMismatchAction.Log,
            "ADD" => HeaderMismatchAction.Add,
            "DELETE" => HeaderMismatchAction.Delete,
            "REPLACE" => HeaderMismatchAction.Replace,
            _ => HeaderMismatchAction.Fail,
        };
        return written is null or "" || MismatchActions.Contains(written) ? null :
            $"Invalid header action: {written} (expected LOG, ADD, DELETE or REPLACE)" + Suggestions.Hint(written, MismatchActions);
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
