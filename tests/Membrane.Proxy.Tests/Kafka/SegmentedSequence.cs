using System.Buffers;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>Builds multi-segment sequences so parsers see data split exactly where a test wants.</summary>
internal static class SegmentedSequence
{
    public static ReadOnlySequence<byte> Create(byte[] data, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < data.Length).Distinct().Order().Append(data.Length).ToArray();
        if (bounds.Length == 1)
        {
            return new ReadOnlySequence<byte>(data);
        }

        Segment? first = null, last = null;
        var start = 0;
        foreach (var end in bounds)
        {
            var segment = new Segment(data.AsMemory(start, end - start));
            if (first is null)
            {
                first = last = segment;
            }
            else
            {
                last = last!.Append(segment);
            }

            start = end;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static ReadOnlySequence<byte> ByteByByte(byte[] data) => Create(data, [.. Enumerable.Range(1, data.Length - 1)]);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}
