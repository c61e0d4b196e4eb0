using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Fuzz.Http2;

/// <summary>
/// The HPACK decoder (RFC 7541) over an arbitrary header block: decoded whole and again in two pieces split where
/// the first byte says; both must agree field by field (a representation cut by a piece boundary is re-fed, never
/// half-applied), a rejection must carry a reason, and the dynamic table must stay within its size.
/// </summary>
public sealed class HpackTarget : IFuzzTarget
{
    /// <inheritdoc />
    public string Name => "hpack";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        var whole = new HeaderList();
        var wholeDecoder = new HpackDecoder();
        var wholeStatus = wholeDecoder.Decode(input, endOfBlock: true, whole, out _);
        if (wholeStatus == ParseStatus.Rejected && wholeDecoder.Error is null)
        {
            throw new InvalidOperationException("rejected without a reason");
        }

        if (wholeDecoder.Table.Size > 4096)
        {
            throw new InvalidOperationException($"dynamic table at {wholeDecoder.Table.Size} bytes, above its 4096-byte limit");
        }

        if (input.Length < 2)
        {
            return;
        }

        var split = 1 + (input[0] % (input.Length - 1));
        var pieces = new HeaderList();
        var piecesDecoder = new HpackDecoder();
        var first = piecesDecoder.Decode(input[..split], endOfBlock: false, pieces, out var consumed);
        var piecesStatus = first;
        if (first == ParseStatus.NeedMoreData)
        {
            if (consumed > split)
            {
                throw new InvalidOperationException($"consumed {consumed} of a {split}-byte piece");
            }

            piecesStatus = piecesDecoder.Decode(input[consumed..], endOfBlock: true, pieces, out _);
        }

        if (wholeStatus == ParseStatus.Complete != (piecesStatus == ParseStatus.Complete))
        {
            throw new InvalidOperationException($"whole block {wholeStatus}, split at {split} {piecesStatus}");
        }

        if (wholeStatus != ParseStatus.Complete)
        {
            return;
        }

        if (whole.Count != pieces.Count)
        {
            throw new InvalidOperationException($"whole block {whole.Count} fields, split at {split} {pieces.Count}");
        }

        for (var i = 0; i < whole.Count; i++)
        {
            if (!whole.Name(i).SequenceEqual(pieces.Name(i)) || !whole.Value(i).SequenceEqual(pieces.Value(i)))
            {
                throw new InvalidOperationException($"field {i} differs when the block is split at {split}");
            }
        }
    }
}
