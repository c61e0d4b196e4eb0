using System.Buffers;
using System.Buffers.Binary;
using Membrane.Proxy.Http;

namespace Membrane.Proxy.Http2;

/// <summary>A protocol error found in a frame: a connection error (GOAWAY, close) or a stream error (RST_STREAM).</summary>
/// <param name="Code">The error code to send.</param>
/// <param name="IsConnectionError">True for a connection error (RFC 9113 §5.4.1), false for a stream error (§5.4.2).</param>
/// <param name="Message">What was wrong, for the event.</param>
internal readonly record struct Http2FrameError(Http2ErrorCode Code, bool IsConnectionError, string Message);

/// <summary>
/// One frame read off the wire: the header, and the payload with its type's fields decoded (padding removed, priority
/// fields skipped). <see cref="Payload"/> is the DATA payload, the header block fragment of HEADERS / CONTINUATION /
/// PUSH_PROMISE, the parameters of SETTINGS, the debug data of GOAWAY, and the raw payload of unknown types.
/// </summary>
internal readonly struct Http2Frame
{
    /// <summary>The frame's length field (for DATA, the flow-controlled length: padding included).</summary>
    public int Length { get; init; }

    /// <summary>Frame type; unknown types are passed through to be ignored (§4.1).</summary>
    public Http2FrameType Type { get; init; }

    /// <summary>Raw flags.</summary>
    public byte Flags { get; init; }

    /// <summary>Stream identifier (reserved bit cleared).</summary>
    public int StreamId { get; init; }

    /// <summary>See the type summary.</summary>
    public ReadOnlySequence<byte> Payload { get; init; }

    /// <summary>RST_STREAM and GOAWAY error code.</summary>
    public Http2ErrorCode ErrorCode { get; init; }

    /// <summary>GOAWAY last stream id; HEADERS and PRIORITY stream dependency.</summary>
    public int LastStreamId { get; init; }

    /// <summary>WINDOW_UPDATE increment.</summary>
    public int WindowIncrement { get; init; }

    /// <summary>PING opaque data.</summary>
    public ulong PingData { get; init; }

    /// <summary>A stream error the frame carries (the frame is consumed; the stream is reset).</summary>
    public Http2FrameError? StreamError { get; init; }

    /// <summary>END_STREAM on DATA or HEADERS.</summary>
    public bool EndStream => (Type is Http2FrameType.Data or Http2FrameType.Headers) && (Flags & Http2Flags.EndStream) != 0;

    /// <summary>END_HEADERS on HEADERS, CONTINUATION or PUSH_PROMISE.</summary>
    public bool EndHeaders => (Flags & Http2Flags.EndHeaders) != 0;

    /// <summary>ACK on SETTINGS or PING.</summary>
    public bool IsAck => (Type is Http2FrameType.Settings or Http2FrameType.Ping) && (Flags & Http2Flags.Ack) != 0;
}

/// <summary>
/// Reads HTTP/2 frames (RFC 9113 §4, §6): pure, allocation-free, over a possibly segmented buffer. Checks everything a
/// frame says about itself: sizes, stream id 0 or not, padding, SETTINGS values, zero window increments. What depends
/// on connection state (stream states, flow control, header block sequencing) is the session's job.
/// </summary>
internal static class Http2FrameReader
{
    /// <summary>
    /// Reads the frame at the start of <paramref name="buffer"/>: NeedMoreData when it is not all there; Rejected with
    /// a connection error (<paramref name="error"/>); Complete with <paramref name="frame"/> and the position after it.
    /// </summary>
    public static ParseStatus TryRead(in ReadOnlySequence<byte> buffer, int maxFrameSize, out Http2Frame frame, out SequencePosition end, out Http2FrameError error)
    {
        frame = default;
        end = buffer.Start;
        error = default;
        if (buffer.Length < Http2Constants.FrameHeaderLength)
        {
            return ParseStatus.NeedMoreData;
        }

        Span<byte> head = stackalloc byte[Http2Constants.FrameHeaderLength];
        buffer.Slice(0, Http2Constants.FrameHeaderLength).CopyTo(head);
        var length = (head[0] << 16) | (head[1] << 8) | head[2];
        var type = (Http2FrameType)head[3];
        var flags = head[4];
        var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(head[5..]) & 0x7FFFFFFF);
        if (length > maxFrameSize)
        {
            // §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE; for a frame that could alter connection state (any
            // here: the header block may be HEADERS) it is a connection error.
            error = new Http2FrameError(Http2ErrorCode.FrameSizeError, true, $"frame of {length} bytes exceeds the maximum frame size {maxFrameSize}");
            return ParseStatus.Rejected;
        }

        if (buffer.Length < Http2Constants.FrameHeaderLength + length)
        {
            return ParseStatus.NeedMoreData;
        }

        var payload = buffer.Slice(Http2Constants.FrameHeaderLength, length);
        end = payload.End;
        var status = Decode(type, flags, streamId, length, payload, out frame, out error);
        return status;
    }

    /// <summary>Reads SETTINGS parameter <paramref name="index"/> of a SETTINGS payload (already validated).</summary>
    public static (Http2Setting Id, uint Value) ReadSetting(in ReadOnlySequence<byte> payload, int index)
    {
        Span<byte> p = stackalloc byte[6];
        payload.Slice(index * 6, 6).CopyTo(p);
        return ((Http2Setting)BinaryPrimitives.ReadUInt16BigEndian(p), BinaryPrimitives.ReadUInt32BigEndian(p[2..]));
    }

    private static ParseStatus Decode(Http2FrameType type, byte flags, int streamId, int length, ReadOnlySequence<byte> payload, out Http2Frame frame, out Http2FrameError error)
    {
        error = default;
        frame = new Http2Frame { Length = length, Type = type, Flags = flags, StreamId = streamId, Payload = payload };
        switch (type)
        {
            case Http2FrameType.Data:
            {
                if (streamId == 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "DATA on stream 0", out error);
                }

                if (!TryStripPadding(flags, ref payload, out error))
                {
                    return ParseStatus.Rejected;
                }

                frame = frame with { Payload = payload };
                return ParseStatus.Complete;
            }

            case Http2FrameType.Headers:
            {
                if (streamId == 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "HEADERS on stream 0", out error);
                }

                if (!TryStripPadding(flags, ref payload, out error))
                {
                    return ParseStatus.Rejected;
                }

                if ((flags & Http2Flags.Priority) != 0)
                {
                    if (payload.Length < 5)
                    {
                        return Connection(Http2ErrorCode.FrameSizeError, "HEADERS too short for its priority fields", out error);
                    }

                    var dependency = ReadStreamId(payload);
                    payload = payload.Slice(5);
                    frame = frame with
                    {
                        LastStreamId = dependency,
                        StreamError = dependency == streamId ? new Http2FrameError(Http2ErrorCode.ProtocolError, false, "stream depends on itself") : null,
                    };
                }

                frame = frame with { Payload = payload };
                return ParseStatus.Complete;
            }

            case Http2FrameType.Priority:
            {
                if (streamId == 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "PRIORITY on stream 0", out error);
                }

                if (length != 5)
                {
                    frame = frame with { StreamError = new Http2FrameError(Http2ErrorCode.FrameSizeError, false, "PRIORITY frame not 5 bytes long") };
                    return ParseStatus.Complete;
                }

                var dependency = ReadStreamId(payload);
                frame = frame with
                {
                    LastStreamId = dependency,
                    StreamError = dependency == streamId ? new Http2FrameError(Http2ErrorCode.ProtocolError, false, "stream depends on itself") : null,
                };
                return ParseStatus.Complete;
            }

            case Http2FrameType.RstStream:
                if (streamId == 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "RST_STREAM on stream 0", out error);
                }

                if (length != 4)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "RST_STREAM frame not 4 bytes long", out error);
                }

                frame = frame with { ErrorCode = (Http2ErrorCode)ReadUInt32(payload) };
                return ParseStatus.Complete;

            case Http2FrameType.Settings:
                if (streamId != 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "SETTINGS on a stream", out error);
                }

                if ((flags & Http2Flags.Ack) != 0)
                {
                    return length == 0 ? ParseStatus.Complete : Connection(Http2ErrorCode.FrameSizeError, "SETTINGS acknowledgement with a payload", out error);
                }

                if (length % 6 != 0)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "SETTINGS length not a multiple of 6", out error);
                }

                for (var i = 0; i < length / 6; i++)
                {
                    var (id, value) = ReadSetting(payload, i);
                    switch (id)
                    {
                        case Http2Setting.EnablePush when value > 1:
                            return Connection(Http2ErrorCode.ProtocolError, "SETTINGS_ENABLE_PUSH not 0 or 1", out error);
                        case Http2Setting.InitialWindowSize when value > Http2Constants.MaxWindowSize:
                            return Connection(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", out error);
                        case Http2Setting.MaxFrameSize when value < Http2Constants.DefaultMaxFrameSize || value > Http2Constants.MaxMaxFrameSize:
                            return Connection(Http2ErrorCode.ProtocolError, "SETTINGS_MAX_FRAME_SIZE out of range", out error);
                        case Http2Setting.EnableConnectProtocol when value > 1:
                            return Connection(Http2ErrorCode.ProtocolError, "SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1", out error);
                    }
                }

                return ParseStatus.Complete;

            case Http2FrameType.PushPromise:
            {
                if (streamId == 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "PUSH_PROMISE on stream 0", out error);
                }

                if (!TryStripPadding(flags, ref payload, out error))
                {
                    return ParseStatus.Rejected;
                }

                if (payload.Length < 4)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "PUSH_PROMISE too short", out error);
                }

                frame = frame with { LastStreamId = ReadStreamId(payload), Payload = payload.Slice(4) };
                return ParseStatus.Complete;
            }

            case Http2FrameType.Ping:
                if (streamId != 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "PING on a stream", out error);
                }

                if (length != 8)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "PING frame not 8 bytes long", out error);
                }

                Span<byte> ping = stackalloc byte[8];
                payload.CopyTo(ping);
                frame = frame with { PingData = BinaryPrimitives.ReadUInt64BigEndian(ping) };
                return ParseStatus.Complete;

            case Http2FrameType.GoAway:
                if (streamId != 0)
                {
                    return Connection(Http2ErrorCode.ProtocolError, "GOAWAY on a stream", out error);
                }

                if (length < 8)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "GOAWAY shorter than 8 bytes", out error);
                }

                frame = frame with
                {
                    LastStreamId = ReadStreamId(payload),
                    ErrorCode = (Http2ErrorCode)ReadUInt32(payload.Slice(4)),
                    Payload = payload.Slice(8),
                };
                return ParseStatus.Complete;

            case Http2FrameType.WindowUpdate:
            {
                if (length != 4)
                {
                    return Connection(Http2ErrorCode.FrameSizeError, "WINDOW_UPDATE frame not 4 bytes long", out error);
                }

                var increment = (int)(ReadUInt32(payload) & 0x7FFFFFFF);
                if (increment == 0)
                {
                    // §6.9: a zero increment is a stream error on a stream, a connection error on the connection.
                    if (streamId == 0)
                    {
                        return Connection(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE with a zero increment", out error);
                    }

                    frame = frame with { StreamError = new Http2FrameError(Http2ErrorCode.ProtocolError, false, "WINDOW_UPDATE with a zero increment") };
                }

                frame = frame with { WindowIncrement = increment };
                return ParseStatus.Complete;
            }

            case Http2FrameType.Continuation:
                return streamId == 0 ? Connection(Http2ErrorCode.ProtocolError, "CONTINUATION on stream 0", out error) : ParseStatus.Complete;

            default:
                // §4.1, §5.5: frames of unknown types are ignored.
                return ParseStatus.Complete;
        }
    }

    private static bool TryStripPadding(byte flags, ref ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        error = default;
        if ((flags & Http2Flags.Padded) == 0)
        {
            return true;
        }

        if (payload.Length < 1)
        {
            error = new Http2FrameError(Http2ErrorCode.FrameSizeError, true, "padded frame without a pad length");
            return false;
        }

        var pad = payload.FirstSpan[0];
        if (pad >= payload.Length)
        {
            // §6.1: padding that is not shorter than the payload is a connection error.
            error = new Http2FrameError(Http2ErrorCode.ProtocolError, true, "padding as long as the frame payload");
            return false;
        }

        payload = payload.Slice(1, payload.Length - 1 - pad);
        return true;
    }

    private static uint ReadUInt32(in ReadOnlySequence<byte> payload)
    {
        Span<byte> b = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(b);
        return BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    private static int ReadStreamId(in ReadOnlySequence<byte> payload) => (int)(ReadUInt32(payload) & 0x7FFFFFFF);

    private static ParseStatus Connection(Http2ErrorCode code, string message, out Http2FrameError error)
    {
        error = new Http2FrameError(code, true, message);
        return ParseStatus.Rejected;
    }
}
