using System.Buffers;

namespace Membrane.Proxy.Http2;

/// <summary>Frames with a payload written into a <see cref="FrameOutput"/>, split to the peer's frame size.</summary>
internal static class Http2Writes
{
    /// <summary>A header block as HEADERS and, when longer than one frame, CONTINUATION frames (RFC 9113 §6.10).</summary>
    public static void HeaderBlock(FrameOutput output, int streamId, ReadOnlySpan<byte> block, bool endStream, int maxFrameSize)
    {
        var type = Http2FrameType.Headers;
        var flags = endStream ? Http2Flags.EndStream : (byte)0;
        do
        {
            var n = Math.Min(block.Length, maxFrameSize);
            var last = n == block.Length;
            var span = output.GetSpan(Http2Constants.FrameHeaderLength + n);
            Http2FrameWriter.WriteHeader(span, n, type, (byte)(flags | (last ? Http2Flags.EndHeaders : 0)), streamId);
            block[..n].CopyTo(span[Http2Constants.FrameHeaderLength..]);
            output.Advance(Http2Constants.FrameHeaderLength + n);
            block = block[n..];
            type = Http2FrameType.Continuation;
            flags = 0;
        }
        while (!block.IsEmpty);
    }

    /// <summary>DATA frames carrying <paramref name="data"/>; END_STREAM on the last (an empty frame if no data).</summary>
    public static void Data(FrameOutput output, int streamId, ReadOnlySpan<byte> data, bool endStream, int maxFrameSize)
    {
        do
        {
            var n = Math.Min(data.Length, maxFrameSize);
            var last = n == data.Length;
            var span = output.GetSpan(Http2Constants.FrameHeaderLength + n);
            Http2FrameWriter.WriteHeader(span, n, Http2FrameType.Data, last && endStream ? Http2Flags.EndStream : (byte)0, streamId);
            data[..n].CopyTo(span[Http2Constants.FrameHeaderLength..]);
            output.Advance(Http2Constants.FrameHeaderLength + n);
            data = data[n..];
        }
        while (!data.IsEmpty);
    }

    /// <summary>The first <paramref name="count"/> bytes of <paramref name="data"/> as DATA frames, END_STREAM on the
    /// last when <paramref name="endStream"/> (an empty frame when <paramref name="count"/> is 0).</summary>
    public static void Data(FrameOutput output, int streamId, in ReadOnlySequence<byte> data, long count, bool endStream, int maxFrameSize)
    {
        if (data.IsSingleSegment)
        {
            Data(output, streamId, data.FirstSpan[..(int)count], endStream, maxFrameSize);
            return;
        }

        var slice = data.Slice(0, count);
        do
        {
            var n = (int)Math.Min(slice.Length, maxFrameSize);
            var last = n == slice.Length;
            var span = output.GetSpan(Http2Constants.FrameHeaderLength + n);
            Http2FrameWriter.WriteHeader(span, n, Http2FrameType.Data, last && endStream ? Http2Flags.EndStream : (byte)0, streamId);
            slice.Slice(0, n).CopyTo(span[Http2Constants.FrameHeaderLength..]);
            output.Advance(Http2Constants.FrameHeaderLength + n);
            slice = slice.Slice(n);
        }
        while (slice.Length > 0);
    }

    /// <summary>A WINDOW_UPDATE frame.</summary>
    public static void WindowUpdate(FrameOutput output, int streamId, int increment) =>
        output.Advance(Http2FrameWriter.WindowUpdate(output.GetSpan(Http2FrameWriter.WindowUpdateLength), streamId, increment));

    /// <summary>A RST_STREAM frame.</summary>
    public static void RstStream(FrameOutput output, int streamId, Http2ErrorCode code) =>
        output.Advance(Http2FrameWriter.RstStream(output.GetSpan(Http2FrameWriter.RstStreamLength), streamId, code));

    /// <summary>A GOAWAY frame.</summary>
    public static void GoAway(FrameOutput output, int lastStreamId, Http2ErrorCode code) =>
        output.Advance(Http2FrameWriter.GoAway(output.GetSpan(Http2FrameWriter.GoAwayLength), lastStreamId, code));

    /// <summary>A PING acknowledgement.</summary>
    public static void PingAck(FrameOutput output, ulong data) =>
        output.Advance(Http2FrameWriter.Ping(output.GetSpan(Http2FrameWriter.PingLength), true, data));

    /// <summary>A SETTINGS acknowledgement.</summary>
    public static void SettingsAck(FrameOutput output) =>
        output.Advance(Http2FrameWriter.Settings(output.GetSpan(Http2Constants.FrameHeaderLength), true, []));
}
