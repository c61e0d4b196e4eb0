using Membrane.Proxy.Http;

namespace Membrane.Fuzz;

/// <summary>
/// The chunked transfer-coding decoder. The first input byte chooses where the rest is split in two segments, so
/// the fuzzer explores resumption at every state; the decoded payload must not depend on the split.
/// </summary>
public sealed class ChunkedBodyTarget : IFuzzTarget
{
    /// <inheritdoc />
    public string Name => "http1-chunked";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var body = input[1..];
        var split = body.IsEmpty ? 0 : input[0] % (body.Length + 1);
        var whole = Decode(body, body.Length);
        var parts = Decode(body, split);
        if (whole.Status != parts.Status || (whole.Status == ChunkStatus.Complete && (whole.Payload != parts.Payload || whole.Consumed != parts.Consumed)))
        {
            throw new InvalidOperationException($"split at {split} changed the result: {whole} vs {parts}");
        }
    }

    private static (ChunkStatus Status, ulong Payload, int Consumed) Decode(ReadOnlySpan<byte> body, int split)
    {
        var decoder = default(ChunkedDecoder);
        ulong hash = 14695981039346656037;
        var consumedTotal = 0;
        var available = split;
        var start = 0;
        while (true)
        {
            var status = decoder.Read(body[start..available], out var consumed, out var offset, out var length);
            if (consumed < 0 || start + consumed > available || (status == ChunkStatus.Data && (offset < 0 || offset + length > consumed || length <= 0)))
            {
                throw new InvalidOperationException($"decoder reported consumed={consumed} offset={offset} length={length} past its input");
            }

            if (status == ChunkStatus.Data)
            {
                foreach (var b in body.Slice(start + offset, length))
                {
                    hash = (hash ^ b) * 1099511628211;
                }
            }

            start += consumed;
            consumedTotal += consumed;
            if (status is ChunkStatus.Complete or ChunkStatus.Rejected)
            {
                return (status, hash, consumedTotal);
            }

            if (status == ChunkStatus.NeedMoreData)
            {
                if (available == body.Length)
                {
                    return (status, hash, consumedTotal);
                }

                available = body.Length;
            }
        }
    }
}
