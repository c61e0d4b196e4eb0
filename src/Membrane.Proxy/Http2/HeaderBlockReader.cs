using System.Buffers;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Http2;

/// <summary>
/// Decodes one direction's header blocks as their fragments arrive (HEADERS or PUSH_PROMISE, then CONTINUATION, RFC
/// 9113 §4.3, §6.10): each fragment is decoded at once; only an incomplete field representation is carried over to
/// the next one (bounded by the longest string the decoder accepts), so a block is never buffered whole. Every block
/// is decoded, even one whose stream is gone: the HPACK state is shared by the whole connection.
/// </summary>
internal sealed class HeaderBlockReader(HpackDecoder decoder, int maxBlockBytes)
{
    private byte[] _carry = new byte[256];
    private int _carryLength;
    private long _blockBytes;

    /// <summary>The stream whose block is open, or 0: while it is not 0, only CONTINUATION for it may arrive.</summary>
    public int StreamId { get; private set; }

    /// <summary>END_STREAM of the HEADERS frame that opened the block.</summary>
    public bool EndStream { get; private set; }

    /// <summary>Where the open block's fields go.</summary>
    public HeaderList? Target { get; private set; }

    /// <summary>Why the last <see cref="Feed"/> was rejected.</summary>
    public string? Error { get; private set; }

    /// <summary>Opens a block for <paramref name="streamId"/>.</summary>
    public void Begin(int streamId, bool endStream, HeaderList target)
    {
        StreamId = streamId;
        EndStream = endStream;
        Target = target;
        target.Clear();
        _carryLength = 0;
        _blockBytes = 0;
    }

    /// <summary>
    /// Decodes a fragment: Complete when <paramref name="endHeaders"/> ended the block (then <see cref="StreamId"/> is
    /// 0 again), NeedMoreData when a CONTINUATION must follow, Rejected on a decoding error or an oversized block (a
    /// connection error).
    /// </summary>
    public ParseStatus Feed(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        _blockBytes += fragment.Length;
        if (_blockBytes > maxBlockBytes)
        {
            Error = "header block larger than the limit (CONTINUATION flood)";
            return ParseStatus.Rejected;
        }

        if (fragment.IsEmpty)
        {
            return Decode(default, endHeaders);
        }

        var position = fragment.Start;
        var remaining = fragment.Length;
        while (fragment.TryGet(ref position, out var segment))
        {
            remaining -= segment.Length;
            var status = Decode(segment.Span, endHeaders && remaining == 0);
            if (status != ParseStatus.NeedMoreData)
            {
                return status;
            }
        }

        return ParseStatus.NeedMoreData;
    }

    private ParseStatus Decode(ReadOnlySpan<byte> piece, bool endOfBlock)
    {
        ParseStatus status;
        int consumed;
        if (_carryLength == 0)
        {
            status = decoder.Decode(piece, endOfBlock, Target!, out consumed);
            if (status == ParseStatus.NeedMoreData)
            {
                Carry(piece[consumed..]);
            }
        }
        else
        {
            Carry(piece);
            status = decoder.Decode(_carry.AsSpan(0, _carryLength), endOfBlock, Target!, out consumed);
            if (status == ParseStatus.NeedMoreData)
            {
                _carry.AsSpan(consumed, _carryLength - consumed).CopyTo(_carry);
                _carryLength -= consumed;
            }
        }

        if (status == ParseStatus.Rejected)
        {
            Error = decoder.Error;
        }
        else if (status == ParseStatus.Complete)
        {
            StreamId = 0;
            _carryLength = 0;
        }

        return status;
    }

    private void Carry(ReadOnlySpan<byte> bytes)
    {
        if (_carry.Length - _carryLength < bytes.Length)
        {
            Array.Resize(ref _carry, Math.Max(_carry.Length * 2, _carryLength + bytes.Length));
        }

        bytes.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += bytes.Length;
    }
}
