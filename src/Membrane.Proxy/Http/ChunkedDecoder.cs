namespace Membrane.Proxy.Http;

/// <summary>What <see cref="ChunkedDecoder.Read"/> found.</summary>
internal enum ChunkStatus
{
    /// <summary>All input was consumed as framing; more is needed.</summary>
    NeedMoreData,

    /// <summary>A run of body bytes was found at the returned offset.</summary>
    Data,

    /// <summary>The last chunk and the trailer section were consumed: the body is complete.</summary>
    Complete,

    /// <summary>Malformed framing; <see cref="ChunkedDecoder.Error"/> says why.</summary>
    Rejected,
}

/// <summary>
/// Incremental decoder of the chunked transfer coding (RFC 9112 §7.1), fed arbitrary splits of the body. Pure and
/// allocation-free: a mutable struct kept per connection. Limits: chunk size ≤ 2^60 (16 hex digits are refused
/// before overflow), chunk extensions ≤ 4 KiB per line, trailer section ≤ 16 KiB; CRLF only.
/// </summary>
internal struct ChunkedDecoder
{
    private const int MaxExtensionBytes = 4096;
    private const int MaxTrailerBytes = 16384;
    private const long MaxChunkSize = 1L << 60;

    private State _state;
    private long _remaining;
    private int _digits;
    private int _lineBytes;
    private int _trailerBytes;

    private enum State : byte
    {
        Size,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerLine,
        TrailerLf,
        FinalLf,
        Done,
    }

    /// <summary>Why the framing was rejected.</summary>
    public string? Error { get; private set; }

    /// <summary>True once the terminating chunk and trailers were read.</summary>
    public readonly bool IsComplete => _state == State.Done;

    /// <summary>Starts a new body.</summary>
    public void Reset() => this = default;

    /// <summary>
    /// Consumes framing from <paramref name="input"/> until it finds body bytes, the end, or needs more input.
    /// <paramref name="consumed"/> counts every byte taken (framing and the returned data); body bytes are
    /// <c>input.Slice(dataOffset, dataLength)</c> when the result is <see cref="ChunkStatus.Data"/>.
    /// </summary>
    public ChunkStatus Read(ReadOnlySpan<byte> input, out int consumed, out int dataOffset, out int dataLength)
    {
        dataOffset = 0;
        dataLength = 0;
        var i = 0;
        while (i < input.Length)
        {
            var b = input[i];
            switch (_state)
            {
                case State.Size:
                    var digit = HexValue(b);
                    if (digit >= 0)
                    {
                        if (++_digits > 15)
                        {
                            return Reject(out consumed, i, "chunk size too large");
                        }

                        _remaining = (_remaining << 4) | (uint)digit;
                        i++;
                        continue;
                    }

                    if (_digits == 0)
                    {
                        return Reject(out consumed, i, "missing chunk size");
                    }

                    if (_remaining > MaxChunkSize)
                    {
                        return Reject(out consumed, i, "chunk size too large");
                    }

                    if (b == ';' || b == ' ' || b == '\t')
                    {
                        _state = State.Extension;
                        _lineBytes = 0;
                        i++;
                        continue;
                    }

                    if (b != '\r')
                    {
                        return Reject(out consumed, i, "invalid character in chunk size");
                    }

                    _state = State.SizeLf;
                    i++;
                    continue;

                case State.Extension:
                    if (b == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (b == '\n' || (b < 0x20 && b != '\t') || b == 0x7F)
                    {
                        return Reject(out consumed, i, "invalid character in chunk extension");
                    }
                    else if (++_lineBytes > MaxExtensionBytes)
                    {
                        return Reject(out consumed, i, "chunk extension too long");
                    }

                    i++;
                    continue;

                case State.SizeLf:
                    if (b != '\n')
                    {
                        return Reject(out consumed, i, "expected LF after chunk size");
                    }

                    i++;
                    _digits = 0;
                    if (_remaining == 0)
                    {
                        _state = State.TrailerLineStart;
                        continue;
                    }

                    _state = State.Data;
                    continue;

                case State.Data:
                    var take = (int)Math.Min(_remaining, input.Length - i);
                    dataOffset = i;
                    dataLength = take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataCr;
                    }

                    consumed = i + take;
                    return ChunkStatus.Data;

                case State.DataCr:
                    if (b != '\r')
                    {
                        return Reject(out consumed, i, "expected CRLF after chunk data");
                    }

                    _state = State.DataLf;
                    i++;
                    continue;

                case State.DataLf:
                    if (b != '\n')
                    {
                        return Reject(out consumed, i, "expected CRLF after chunk data");
                    }

                    _state = State.Size;
                    _remaining = 0;
                    i++;
                    continue;

                case State.TrailerLineStart:
                    if (b == '\r')
                    {
                        _state = State.FinalLf;
                        i++;
                        continue;
                    }

                    _state = State.TrailerLine;
                    continue;

                case State.TrailerLine:
                    if (++_trailerBytes > MaxTrailerBytes)
                    {
                        return Reject(out consumed, i, "trailer section too long");
                    }

                    if (b == '\r')
                    {
                        _state = State.TrailerLf;
                    }
                    else if (b == '\n' || (b < 0x20 && b != '\t') || b == 0x7F)
                    {
                        return Reject(out consumed, i, "invalid character in trailer");
                    }

                    i++;
                    continue;

                case State.TrailerLf:
                    if (b != '\n')
                    {
                        return Reject(out consumed, i, "expected LF in trailer");
                    }

                    _state = State.TrailerLineStart;
                    i++;
                    continue;

                case State.FinalLf:
                    if (b != '\n')
                    {
                        return Reject(out consumed, i, "expected LF after last chunk");
                    }

                    _state = State.Done;
                    consumed = i + 1;
                    return ChunkStatus.Complete;

                case State.Done:
                    consumed = i;
                    return ChunkStatus.Complete;
            }
        }

        consumed = i;
        return _state == State.Done ? ChunkStatus.Complete : ChunkStatus.NeedMoreData;
    }

    private ChunkStatus Reject(out int consumed, int at, string reason)
    {
        consumed = at;
        Error = reason;
        return ChunkStatus.Rejected;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
