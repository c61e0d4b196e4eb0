using System.Buffers.Text;

namespace Membrane.Proxy.Http;

/// <summary>
/// Parses an upstream HTTP/1.x response head (status line, header fields, empty line) from a contiguous buffer.
/// Pure and allocation-free: it records offsets in a reused <see cref="Http1ResponseHead"/>. Strict where the proxy
/// relies on the bytes (framing): CRLF line ends only, no obs-fold, no control characters, one Content-Length value
/// (RFC 9112 §2.2, §5.2, §6.3).
/// </summary>
internal static class Http1ResponseHeadParser
{
    /// <summary>Parses <paramref name="buffer"/>; on <see cref="ParseStatus.Complete"/> the head is in <paramref name="head"/>.</summary>
    public static ParseStatus Parse(ReadOnlySpan<byte> buffer, Http1ResponseHead head)
    {
        head.Reset();
        var lineEnd = buffer.IndexOf((byte)'\n');
        if (lineEnd < 0)
        {
            return buffer.Length >= 12 && !LooksLikeStatusLine(buffer) ? Reject(head, "malformed status line") : ParseStatus.NeedMoreData;
        }

        if (!ParseStatusLine(buffer[..lineEnd], head))
        {
            return ParseStatus.Rejected;
        }

        var pos = lineEnd + 1;
        var contentLengthSeen = false;
        var chunked = false;
        var transferEncoding = false;
        var keepAlive = false;
        while (true)
        {
            var rest = buffer[pos..];
            var nl = rest.IndexOf((byte)'\n');
            if (nl < 0)
            {
                return ParseStatus.NeedMoreData;
            }

            if (nl == 0 || rest[nl - 1] != '\r')
            {
                return Reject(head, "bare LF in response head");
            }

            var line = rest[..(nl - 1)];
            if (line.IsEmpty)
            {
                head.HeadLength = pos + nl + 1;
                break;
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                return Reject(head, "obs-fold in response head");
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return Reject(head, "malformed header field name");
            }

            var valueStart = colon + 1;
            var valueEnd = line.Length;
            while (valueStart < valueEnd && line[valueStart] is (byte)' ' or (byte)'\t')
            {
                valueStart++;
            }

            while (valueEnd > valueStart && line[valueEnd - 1] is (byte)' ' or (byte)'\t')
            {
                valueEnd--;
            }

            var value = line[valueStart..valueEnd];
            if (!IsFieldValue(value))
            {
                return Reject(head, "invalid character in header value");
            }

            if (!head.TryAdd(new HeaderRange(pos, colon, pos + valueStart, valueEnd - valueStart)))
            {
                return Reject(head, "too many header fields");
            }

            var name = line[..colon];
            if (name.EqualsAsciiIgnoreCase("content-length"u8))
            {
                if (!TryParseContentLength(value, out var length) || (contentLengthSeen && length != head.ContentLength))
                {
                    return Reject(head, "invalid or conflicting Content-Length");
                }

                contentLengthSeen = true;
                head.ContentLength = length;
            }
            else if (name.EqualsAsciiIgnoreCase("transfer-encoding"u8))
            {
                transferEncoding = true;
                chunked = LastTokenIs(value, "chunked"u8);
            }
            else if (name.EqualsAsciiIgnoreCase("connection"u8))
            {
                head.ConnectionClose |= HasToken(value, "close"u8);
                keepAlive |= HasToken(value, "keep-alive"u8);
            }

            pos += nl + 1;
        }

        if (!head.IsHttp11 && !keepAlive)
        {
            head.ConnectionClose = true;
        }

        var status = head.StatusCode;
        if (status < 200 || status == 204 || status == 304)
        {
            head.Framing = ResponseFraming.None;
        }
        else if (transferEncoding)
        {
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a final coding other than chunked means
            // the body ends when the connection closes.
            head.Framing = chunked ? ResponseFraming.Chunked : ResponseFraming.UntilClose;
            if (!chunked)
            {
                head.ConnectionClose = true;
            }
        }
        else if (contentLengthSeen)
        {
            head.Framing = ResponseFraming.ContentLength;
        }
        else
        {
            head.Framing = ResponseFraming.UntilClose;
            head.ConnectionClose = true;
        }

        return ParseStatus.Complete;
    }

    private static bool LooksLikeStatusLine(ReadOnlySpan<byte> b) => b.StartsWith("HTTP/1."u8);

    private static bool ParseStatusLine(ReadOnlySpan<byte> line, Http1ResponseHead head)
    {
        if (line.IsEmpty || line[^1] != '\r')
        {
            return Fail(head, "bare LF in status line");
        }

        line = line[..^1];
        // HTTP-version SP 3DIGIT SP reason-phrase (RFC 9112 §4); a missing reason with its SP is tolerated.
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)line[7]) || line[8] != ' ')
        {
            return Fail(head, "malformed status line");
        }

        head.IsHttp11 = line[7] != '0';
        var code = line.Slice(9, 3);
        if (!char.IsAsciiDigit((char)code[0]) || !char.IsAsciiDigit((char)code[1]) || !char.IsAsciiDigit((char)code[2]) || code[0] == '0')
        {
            return Fail(head, "malformed status code");
        }

        head.StatusCode = ((code[0] - '0') * 100) + ((code[1] - '0') * 10) + (code[2] - '0');
        if (line.Length > 12)
        {
            if (line[12] != ' ' || !IsFieldValue(line[13..]))
            {
                return Fail(head, "malformed reason phrase");
            }

            head.Reason = (13, line.Length - 13);
        }

        return true;
    }

    private static bool Fail(Http1ResponseHead head, string reason)
    {
        head.Error = reason;
        return false;
    }

    private static ParseStatus Reject(Http1ResponseHead head, string reason)
    {
        head.Error = reason;
        return ParseStatus.Rejected;
    }

    private static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = 0;
        if (value.IsEmpty || value.Length > 18)
        {
            return false;
        }

        foreach (var b in value)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }
        }

        return Utf8Parser.TryParse(value, out length, out var consumed) && consumed == value.Length;
    }

    internal static bool IsToken(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            // tchar (RFC 9110 §5.6.2)
            if (!(char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~"u8.Contains(b)))
            {
                return false;
            }
        }

        return !s.IsEmpty;
    }

    internal static bool IsFieldValue(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (var range in list.Split((byte)','))
        {
            if (list[range].Trim(" \t"u8).EqualsAsciiIgnoreCase(token))
            {
                return true;
            }
        }

        return false;
    }

    private static bool LastTokenIs(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        var comma = list.LastIndexOf((byte)',');
        return list[(comma + 1)..].Trim(" \t"u8).EqualsAsciiIgnoreCase(token);
    }
}

/// <summary>ASCII helpers over byte spans.</summary>
internal static class AsciiSpanExtensions
{
    /// <summary>Case-insensitive ASCII equality.</summary>
    public static bool EqualsAsciiIgnoreCase(this ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        System.Text.Ascii.EqualsIgnoreCase(a, b);
}
