using System.Buffers;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Fuzz.Http2;

/// <summary>
/// The HTTP/2 frame reader (RFC 9113 §4, §6) over an arbitrary connection byte stream, with every header block
/// (HEADERS, then CONTINUATION) fed through the header block reader and HPACK decoder as the sessions do. Checks
/// that each frame ends exactly 9 + length bytes after it starts, that payloads lie inside their frame, and that
/// every rejection (frame or header block) carries a reason.
/// </summary>
public sealed class Http2FramesTarget : IFuzzTarget
{
    /// <inheritdoc />
    public string Name => "http2-frames";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        var buffer = new ReadOnlySequence<byte>(input.ToArray());
        var blocks = new HeaderBlockReader(new HpackDecoder(4096, 16 * 1024), 64 * 1024);
        var fields = new HeaderList();
        var inBlock = false;
        while (true)
        {
            var status = Http2FrameReader.TryRead(buffer, 16_384, out var frame, out var end, out var error);
            if (status == ParseStatus.NeedMoreData)
            {
                return;
            }

            if (status == ParseStatus.Rejected)
            {
                if (string.IsNullOrEmpty(error.Message))
                {
                    throw new InvalidOperationException("frame rejected without a reason");
                }

                return;
            }

            var frameBytes = buffer.Slice(0, end).Length;
            if (frameBytes != 9 + frame.Length || frame.Payload.Length > frame.Length)
            {
                throw new InvalidOperationException($"frame of length {frame.Length} spans {frameBytes} bytes, payload {frame.Payload.Length}");
            }

            buffer = buffer.Slice(end);
            if (frame.StreamError is { } streamError && string.IsNullOrEmpty(streamError.Message))
            {
                throw new InvalidOperationException("stream error without a reason");
            }

            var startsBlock = frame.Type is Http2FrameType.Headers && frame.StreamError is null;
            var continuesBlock = frame.Type is Http2FrameType.Continuation && inBlock;
            if (!startsBlock && !continuesBlock)
            {
                continue;
            }

            if (startsBlock)
            {
                blocks.Begin(frame.StreamId, frame.EndStream, fields);
            }

            var blockStatus = blocks.Feed(frame.Payload, frame.EndHeaders);
            if (blockStatus == ParseStatus.Rejected)
            {
                if (string.IsNullOrEmpty(blocks.Error))
                {
                    throw new InvalidOperationException("header block rejected without a reason");
                }

                return;
            }

            inBlock = blockStatus == ParseStatus.NeedMoreData;
        }
    }
}
