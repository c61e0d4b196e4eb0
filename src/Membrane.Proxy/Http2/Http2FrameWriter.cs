using System.Buffers.Binary;

namespace Membrane.Proxy.Http2;

/// <summary>Writes HTTP/2 frames (RFC 9113 §6) into a caller's span; each method returns the bytes written. Pure.</summary>
internal static class Http2FrameWriter
{
    /// <summary>Bytes of a WINDOW_UPDATE, RST_STREAM frame.</summary>
    public const int WindowUpdateLength = 13;

    /// <summary>Bytes of a RST_STREAM frame.</summary>
    public const int RstStreamLength = 13;

    /// <summary>Bytes of a PING frame.</summary>
    public const int PingLength = 17;

    /// <summary>Bytes of a GOAWAY frame without debug data.</summary>
    public const int GoAwayLength = 17;

    /// <summary>Writes a frame header.</summary>
    public static void WriteHeader(Span<byte> output, int length, Http2FrameType type, byte flags, int streamId)
    {
        output[0] = (byte)(length >> 16);
        output[1] = (byte)(length >> 8);
        output[2] = (byte)length;
        output[3] = (byte)type;
        output[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(output[5..], (uint)streamId & 0x7FFFFFFF);
    }

    /// <summary>A SETTINGS frame with the given parameters (ACK when <paramref name="settings"/> is empty and <paramref name="ack"/>).</summary>
    public static int Settings(Span<byte> output, bool ack, ReadOnlySpan<(Http2Setting Id, uint Value)> settings)
    {
        WriteHeader(output, settings.Length * 6, Http2FrameType.Settings, ack ? Http2Flags.Ack : (byte)0, 0);
        var o = Http2Constants.FrameHeaderLength;
        foreach (var (id, value) in settings)
        {
            BinaryPrimitives.WriteUInt16BigEndian(output[o..], (ushort)id);
            BinaryPrimitives.WriteUInt32BigEndian(output[(o + 2)..], value);
            o += 6;
        }

        return o;
    }

    /// <summary>A WINDOW_UPDATE frame.</summary>
    public static int WindowUpdate(Span<byte> output, int streamId, int increment)
    {
        WriteHeader(output, 4, Http2FrameType.WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(output[9..], (uint)increment & 0x7FFFFFFF);
        return WindowUpdateLength;
    }

    /// <summary>A RST_STREAM frame.</summary>
    public static int RstStream(Span<byte> output, int streamId, Http2ErrorCode code)
    {
        WriteHeader(output, 4, Http2FrameType.RstStream, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(output[9..], (uint)code);
        return RstStreamLength;
    }

    /// <summary>A PING frame (an acknowledgement echoes the data).</summary>
    public static int Ping(Span<byte> output, bool ack, ulong data)
    {
        WriteHeader(output, 8, Http2FrameType.Ping, ack ? Http2Flags.Ack : (byte)0, 0);
        BinaryPrimitives.WriteUInt64BigEndian(output[9..], data);
        return PingLength;
    }

    /// <summary>A GOAWAY frame without debug data.</summary>
    public static int GoAway(Span<byte> output, int lastStreamId, Http2ErrorCode code)
    {
        WriteHeader(output, 8, Http2FrameType.GoAway, 0, 0);
        BinaryPrimitives.WriteUInt32BigEndian(output[9..], (uint)lastStreamId & 0x7FFFFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(output[13..], (uint)code);
        return GoAwayLength;
    }
}
