namespace Membrane.Proxy.Http;

/// <summary>
/// Turns a request target into the one string the proxy both checks against policy and forwards upstream
/// (docs/proxy.md, "Paths"). Pure and allocation-free: it writes into a caller's buffer.
/// <list type="bullet">
/// <item>origin-form is used as is; absolute-form is reduced to its path and query; <c>*</c> stays <c>*</c>.</item>
/// <item>Percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2: <c>%75sers</c> is <c>users</c>);
/// every other escape is kept, with upper-case hex digits; a malformed escape is rejected.</item>
/// <item>Encoded <c>/</c> and <c>\</c> (<c>%2F</c>, <c>%5C</c>), a raw <c>\</c>, <c>%00</c> and <c>#</c> are
/// rejected: an origin that decodes them before resolving dot-segments would serve another path than the one
/// checked (proxy-design-experiment §6, Envoy's <c>path_with_escaped_slashes_action</c>).</item>
/// <item>Empty segments are merged (<c>//</c> is <c>/</c>, as Cilium's Envoy <c>merge_slashes</c>) and dot-segments
/// removed (RFC 3986 §5.2.4), including encoded ones.</item>
/// <item>The query string is appended unchanged: it is opaque to normalization, as in Envoy.</item>
/// </list>
/// </summary>
internal static class PathNormalizer
{
    /// <summary>Normalizes <paramref name="target"/> into <paramref name="output"/>; returns null on success or the reason it was rejected.</summary>
    public static string? Normalize(ReadOnlySpan<char> target, Span<char> output, out int written)
    {
        written = 0;
        if (target.IsEmpty)
        {
            return "empty request target";
        }

        if (target is "*")
        {
            output[0] = '*';
            written = 1;
            return null;
        }

        if (target[0] != '/')
        {
            // absolute-form (RFC 9112 §3.2.2): scheme "://" authority path-abempty [ "?" query ]
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0)
            {
                return "request target is not origin-form or absolute-form";
            }

            var afterAuthority = target[(scheme + 3)..].IndexOfAny('/', '?');
            target = afterAuthority < 0 ? "/" : target[(scheme + 3 + afterAuthority)..];
            if (target[0] == '?')
            {
                return "absolute-form target without a path";
            }
        }

        var queryAt = target.IndexOf('?');
        var path = queryAt < 0 ? target : target[..queryAt];
        var query = queryAt < 0 ? [] : target[queryAt..];
        if (path.Length + query.Length > output.Length)
        {
            return "request target too long";
        }

        if (query.Contains('#') || path.Contains('#'))
        {
            return "fragment in request target";
        }

        // Pass 1: decode unreserved escapes and validate, segment by segment, writing segments with dot-segment
        // removal applied directly to the output (the output only ever shrinks relative to the input).
        var o = 0;
        var i = 0;
        while (i < path.Length)
        {
            // path[i] == '/': start of a segment
            i++;
            var segStart = o;
            output[o++] = '/';
            var dots = 0;
            var other = false;
            while (i < path.Length && path[i] != '/')
            {
                var c = path[i];
                if (c == '\\')
                {
                    return "backslash in path";
                }

                if (c == '%')
                {
                    if (i + 2 >= path.Length)
                    {
                        return "malformed percent-encoding in path";
                    }

                    var hi = HexValue(path[i + 1]);
                    var lo = HexValue(path[i + 2]);
                    if (hi < 0 || lo < 0)
                    {
                        return "malformed percent-encoding in path";
                    }

                    var decoded = (char)((hi << 4) | lo);
                    if (decoded is '/' or '\\')
                    {
                        return "encoded slash in path";
                    }

                    if (decoded == '\0')
                    {
                        return "encoded NUL in path";
                    }

                    i += 3;
                    if (IsUnreserved(decoded))
                    {
                        output[o++] = decoded;
                        if (decoded == '.')
                        {
                            dots++;
                        }
                        else
                        {
                            other = true;
                        }
                    }
                    else
                    {
                        output[o++] = '%';
                        output[o++] = HexDigit(hi);
                        output[o++] = HexDigit(lo);
                        other = true;
                    }

                    continue;
                }

                if (c < 0x21 || c > 0x7E)
                {
                    return "invalid character in path";
                }

                output[o++] = c;
                if (c == '.')
                {
                    dots++;
                }
                else
                {
                    other = true;
                }

                i++;
            }

            var segLength = o - segStart - 1;
            var last = i >= path.Length;
            if (segLength == 0 && !last)
            {
                // "//": merge empty segments.
                o = segStart;
                continue;
            }

            if (!other && dots == 1 && segLength == 1)
            {
                // "." : drop the segment, keep a trailing slash when it was last.
                o = segStart;
                if (last)
                {
                    output[o++] = '/';
                }

                continue;
            }

            if (!other && dots == 2 && segLength == 2)
            {
                // "..": drop this segment and the previous one.
                var previous = output[..segStart].LastIndexOf('/');
                o = previous < 0 ? 0 : previous;
                if (last)
                {
                    output[o++] = '/';
                }

                continue;
            }
        }

        if (o == 0)
        {
            output[o++] = '/';
        }

        query.CopyTo(output[o..]);
        written = o + query.Length;
        return null;
    }

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static char HexDigit(int v) => (char)(v < 10 ? '0' + v : 'A' + v - 10);
}
