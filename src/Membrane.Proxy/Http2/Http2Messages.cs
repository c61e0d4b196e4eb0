using System.Buffers.Text;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Http2;

/// <summary>Where the pseudo-header fields and framing fields of a request are in its <see cref="HeaderList"/>.</summary>
internal struct Http2RequestHead
{
    /// <summary>Index of <c>:method</c>.</summary>
    public int Method;

    /// <summary>Index of <c>:scheme</c>, or -1.</summary>
    public int Scheme;

    /// <summary>Index of <c>:authority</c>, or -1.</summary>
    public int Authority;

    /// <summary>Index of <c>:path</c>, or -1.</summary>
    public int Path;

    /// <summary>Index of <c>host</c>, or -1.</summary>
    public int Host;

    /// <summary>Declared <c>content-length</c>, or -1.</summary>
    public long ContentLength;

    /// <summary>True when <c>content-type</c> is <c>application/grpc</c> or a subtype (<c>application/grpc+proto</c>).</summary>
    public bool IsGrpc;

    /// <summary>True for CONNECT (not proxied).</summary>
    public bool IsConnect;
}

/// <summary>
/// Checks decoded HTTP/2 messages as RFC 9113 §8 requires of an intermediary: a malformed request is a stream error
/// (§8.1.1) and is never forwarded. Pure.
/// </summary>
internal static class Http2Messages
{
    /// <summary>Validates a request header list; returns null, or why it is malformed.</summary>
    public static string? ValidateRequest(HeaderList list, out Http2RequestHead head)
    {
        head = new Http2RequestHead { Method = -1, Scheme = -1, Authority = -1, Path = -1, Host = -1, ContentLength = -1 };
        var regular = false;
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            var value = list.Value(i);
            if (name.Length > 0 && name[0] == ':')
            {
                // §8.3: pseudo-header fields come first, each once, only the request ones.
                if (regular)
                {
                    return "pseudo-header field after a regular field";
                }

                ref var slot = ref head.Method;
                if (name.SequenceEqual(":method"u8))
                {
                    slot = ref head.Method;
                }
                else if (name.SequenceEqual(":scheme"u8))
                {
                    slot = ref head.Scheme;
                }
                else if (name.SequenceEqual(":authority"u8))
                {
                    slot = ref head.Authority;
                }
                else if (name.SequenceEqual(":path"u8))
                {
                    slot = ref head.Path;
                }
                else
                {
                    return "unknown or response pseudo-header field in a request";
                }

                if (slot >= 0)
                {
                    return "duplicate pseudo-header field";
                }

                slot = i;
                if (ValueError(value) is { } pseudoError)
                {
                    return pseudoError;
                }

                continue;
            }

            regular = true;
            if (FieldError(name, value) is { } error)
            {
                return error;
            }

            if (name.SequenceEqual("host"u8))
            {
                if (head.Host >= 0)
                {
                    return "duplicate host field";
                }

                head.Host = i;
            }
            else if (name.SequenceEqual("content-length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out var used) || used != value.Length || length < 0 || (head.ContentLength >= 0 && head.ContentLength != length))
                {
                    return "invalid content-length";
                }

                head.ContentLength = length;
            }
            else if (name.SequenceEqual("content-type"u8))
            {
                head.IsGrpc = StartsWithIgnoreCase(value, "application/grpc"u8) && (value.Length == 16 || value[16] is (byte)'+' or (byte)';');
            }
        }

        if (head.Method < 0)
        {
            return "missing :method";
        }

        var method = list.Value(head.Method);
        if (method.IsEmpty || !IsToken(method))
        {
            return "invalid :method";
        }

        if (method.SequenceEqual("CONNECT"u8))
        {
            head.IsConnect = true;
            return null;
        }

        if (head.Scheme < 0 || list.Value(head.Scheme).IsEmpty)
        {
            return "missing :scheme";
        }

        if (head.Path < 0 || list.Value(head.Path).IsEmpty)
        {
            return "missing or empty :path";
        }

        if (head.Authority >= 0)
        {
            var authority = list.Value(head.Authority);
            if (authority.Contains((byte)'@'))
            {
                // §8.3.1: the userinfo subcomponent is not allowed.
                return ":authority with userinfo";
            }

            if (head.Host >= 0 && !list.Value(head.Host).SequenceEqual(authority))
            {
                // §8.3.1: a Host that differs from :authority makes the request malformed for an intermediary.
                return "host differs from :authority";
            }
        }

        return null;
    }

    /// <summary>Validates a trailer section (request or response): no pseudo-header fields, valid fields.</summary>
    public static string? ValidateTrailers(HeaderList list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            if (name.Length > 0 && name[0] == ':')
            {
                return "pseudo-header field in trailers";
            }

            if (FieldError(name, list.Value(i)) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>
    /// Validates an upstream response header list; returns the status (100-599) or -1 with <paramref name="error"/>.
    /// Connection-specific fields an upstream should not send are tolerated here and dropped when re-encoded.
    /// </summary>
    public static int ValidateResponse(HeaderList list, out string? error)
    {
        error = null;
        var status = -1;
        var regular = false;
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            var value = list.Value(i);
            if (name.Length > 0 && name[0] == ':')
            {
                if (regular || status >= 0 || !name.SequenceEqual(":status"u8))
                {
                    error = "unexpected pseudo-header field in a response";
                    return -1;
                }

                if (value.Length != 3 || !Utf8Parser.TryParse(value, out int s, out _) || s < 100 || s > 599)
                {
                    error = "invalid :status";
                    return -1;
                }

                status = s;
                continue;
            }

            regular = true;
            if (name.IsEmpty || ContainsAny(name, invalidInName: true) || ContainsAny(value, invalidInName: false))
            {
                error = "invalid response header field";
                return -1;
            }
        }

        if (status < 0)
        {
            error = "missing :status";
        }

        return status;
    }

    /// <summary>True for fields that are specific to one connection and never forwarded (RFC 9113 §8.2.2).</summary>
    public static bool IsConnectionSpecific(ReadOnlySpan<byte> name) => name.Length switch
    {
        7 => name.SequenceEqual("upgrade"u8),
        10 => name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8),
        16 => name.SequenceEqual("proxy-connection"u8),
        17 => name.SequenceEqual("transfer-encoding"u8),
        _ => false,
    };

    /// <summary>Reads a <c>grpc-status</c> value, or -1.</summary>
    public static int GrpcStatus(HeaderList list)
    {
        var i = list.IndexOf("grpc-status"u8);
        return i >= 0 && Utf8Parser.TryParse(list.Value(i), out int s, out var used) && used == list.Value(i).Length ? s : -1;
    }

    private static string? FieldError(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty)
        {
            return "empty field name";
        }

        if (ContainsAny(name, invalidInName: true))
        {
            // §8.2.1: no upper case, controls, space, DEL, non-ASCII or colon in a field name.
            return "invalid character in a field name";
        }

        if (IsConnectionSpecific(name))
        {
            return "connection-specific field";
        }

        if (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8))
        {
            return "te other than trailers";
        }

        return ValueError(value);
    }

    private static string? ValueError(ReadOnlySpan<byte> value)
    {
        if (ContainsAny(value, invalidInName: false))
        {
            // §8.2.1: no NUL, CR or LF in a value.
            return "invalid character in a field value";
        }

        if (!value.IsEmpty && (value[0] is (byte)' ' or (byte)'\t' || value[^1] is (byte)' ' or (byte)'\t'))
        {
            return "field value with leading or trailing whitespace";
        }

        return null;
    }

    private static bool ContainsAny(ReadOnlySpan<byte> s, bool invalidInName)
    {
        foreach (var b in s)
        {
            if (invalidInName ? b <= 0x20 || (b >= 0x41 && b <= 0x5A) || b >= 0x7F || b == (byte)':' : b is 0 or (byte)'\r' or (byte)'\n')
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsToken(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            var ok = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                || "!#$%&'*+-.^_`|~"u8.Contains(b);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> prefix) =>
        value.Length >= prefix.Length && System.Text.Ascii.EqualsIgnoreCase(value[..prefix.Length], prefix);
}
