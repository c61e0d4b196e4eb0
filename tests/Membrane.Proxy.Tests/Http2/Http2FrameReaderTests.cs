using System.Buffers;
using System.Buffers.Binary;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Tests.Kafka;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>The frame reader fed every prefix, every 2- and 3-segment split, byte by byte, and with trailing bytes.</summary>
public sealed class Http2FrameReaderTests
{
    public static TheoryData<string> ValidFrames() => [.. Frames().Keys];

    private static Dictionary<string, byte[]> Frames() => new()
    {
        ["data"] = H2Wire.Frame(Http2FrameType.Data, Http2Flags.EndStream, 1, [1, 2, 3, 4, 5]),
        ["data-padded"] = H2Wire.Frame(Http2FrameType.Data, Http2Flags.Padded, 3, [2, 9, 8, 7, 0, 0]),
        ["headers-priority-padded"] = H2Wire.Frame(Http2FrameType.Headers, Http2Flags.Padded | Http2Flags.Priority | Http2Flags.EndHeaders, 5, [1, 0, 0, 0, 3, 16, 0x82, 0x84, 0]),
        ["settings"] = H2Wire.SettingsFrame((Http2Setting.InitialWindowSize, 1000), (Http2Setting.MaxFrameSize, 20000)),
        ["settings-ack"] = H2Wire.Frame(Http2FrameType.Settings, Http2Flags.Ack, 0, []),
        ["ping"] = H2Wire.Frame(Http2FrameType.Ping, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]),
        ["goaway"] = H2Wire.Frame(Http2FrameType.GoAway, 0, 0, [0, 0, 0, 7, 0, 0, 0, 0xb, (byte)'x']),
        ["window-update"] = H2Wire.Frame(Http2FrameType.WindowUpdate, 0, 9, [0x80, 0, 1, 0]),
        ["rst"] = H2Wire.Frame(Http2FrameType.RstStream, 0, 9, [0, 0, 0, 8]),
        ["priority"] = H2Wire.Frame(Http2FrameType.Priority, 0, 11, [0, 0, 0, 1, 200]),
        ["continuation"] = H2Wire.Frame(Http2FrameType.Continuation, Http2Flags.EndHeaders, 5, [0x86]),
        ["unknown-type"] = H2Wire.Frame((Http2FrameType)0x42, 0xff, 13, [1, 2]),
    };

    [Fact]
    public void DecodesEachTypesFields()
    {
        var f = Frames();
        var d = Read(f["data"]);
        Assert.Equal([1, 2, 3, 4, 5], d.Payload.ToArray());
        Assert.True(d.EndStream);
        var p = Read(f["data-padded"]);
        Assert.Equal([9, 8, 7], p.Payload.ToArray());
        Assert.Equal(6, p.Length);
        var h = Read(f["headers-priority-padded"]);
        Assert.Equal([0x82, 0x84], h.Payload.ToArray());
        Assert.Equal((3, true, false), (h.LastStreamId, h.EndHeaders, h.EndStream));
        var s = Read(f["settings"]);
        Assert.Equal((Http2Setting.InitialWindowSize, 1000u), Http2FrameReader.ReadSetting(s.Payload, 0));
        Assert.Equal((Http2Setting.MaxFrameSize, 20000u), Http2FrameReader.ReadSetting(s.Payload, 1));
        Assert.True(Read(f["settings-ack"]).IsAck);
        Assert.Equal(0x0102030405060708ul, Read(f["ping"]).PingData);
        var g = Read(f["goaway"]);
        Assert.Equal((7, Http2ErrorCode.EnhanceYourCalm, "x"), (g.LastStreamId, g.ErrorCode, System.Text.Encoding.ASCII.GetString(g.Payload.ToArray())));
        Assert.Equal(256, Read(f["window-update"]).WindowIncrement); // the reserved bit is ignored
        Assert.Equal(Http2ErrorCode.Cancel, Read(f["rst"]).ErrorCode);
        Assert.Equal(1, Read(f["priority"]).LastStreamId);
        Assert.Equal((Http2FrameType)0x42, Read(f["unknown-type"]).Type);
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void EveryPrefixNeedsMoreDataAndTrailingBytesAreLeft(string name)
    {
        var frame = Frames()[name];
        for (var i = 0; i < frame.Length; i++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, Http2FrameReader.TryRead(new ReadOnlySequence<byte>(frame, 0, i), 16384, out _, out _, out _));
        }

        byte[] withGarbage = [.. frame, 0xde, 0xad, 0xbe];
        var buffer = new ReadOnlySequence<byte>(withGarbage);
        Assert.Equal(ParseStatus.Complete, Http2FrameReader.TryRead(buffer, 16384, out var parsed, out var end, out _));
        Assert.Equal(frame.Length, buffer.Slice(0, end).Length);
        Assert.Equal(Read(frame).Payload.ToArray(), parsed.Payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void EverySplitAndByteByByteReadTheSameFrame(string name)
    {
        var frame = Frames()[name];
        var expected = Read(frame);
        for (var i = 1; i < frame.Length; i++)
        {
            Check(SegmentedSequence.Create(frame, i));
            for (var j = i + 1; j < frame.Length; j++)
            {
                Check(SegmentedSequence.Create(frame, i, j));
            }
        }

        Check(SegmentedSequence.ByteByByte(frame));

        void Check(ReadOnlySequence<byte> sequence)
        {
            Assert.Equal(ParseStatus.Complete, Http2FrameReader.TryRead(sequence, 16384, out var f, out var end, out _));
            Assert.Equal(sequence.End, end);
            Assert.Equal((expected.Type, expected.Flags, expected.StreamId, expected.Length), (f.Type, f.Flags, f.StreamId, f.Length));
            Assert.Equal(expected.Payload.ToArray(), f.Payload.ToArray());
            Assert.Equal((expected.ErrorCode, expected.LastStreamId, expected.WindowIncrement, expected.PingData), (f.ErrorCode, f.LastStreamId, f.WindowIncrement, f.PingData));
        }
    }

    public static TheoryData<string, byte[], uint, bool> Errors() => new()
    {
        { "longer than SETTINGS_MAX_FRAME_SIZE", H2Wire.Frame(Http2FrameType.Data, 0, 1, new byte[100]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "DATA on stream 0", H2Wire.Frame(Http2FrameType.Data, 0, 0, [1]), (uint)Http2ErrorCode.ProtocolError, true },
        { "padding as long as the payload", H2Wire.Frame(Http2FrameType.Data, Http2Flags.Padded, 1, [3, 0, 0]), (uint)Http2ErrorCode.ProtocolError, true },
        { "padded without a pad length", H2Wire.Frame(Http2FrameType.Headers, Http2Flags.Padded, 1, []), (uint)Http2ErrorCode.FrameSizeError, true },
        { "HEADERS too short for priority", H2Wire.Frame(Http2FrameType.Headers, Http2Flags.Priority, 1, [0, 0]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "HEADERS depending on itself", H2Wire.Frame(Http2FrameType.Headers, Http2Flags.Priority, 1, [0, 0, 0, 1, 0]), (uint)Http2ErrorCode.ProtocolError, false },
        { "PRIORITY of the wrong size", H2Wire.Frame(Http2FrameType.Priority, 0, 1, [0, 0, 0, 3]), (uint)Http2ErrorCode.FrameSizeError, false },
        { "RST_STREAM of the wrong size", H2Wire.Frame(Http2FrameType.RstStream, 0, 1, [0, 0, 0]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "SETTINGS on a stream", H2Wire.Frame(Http2FrameType.Settings, 0, 1, []), (uint)Http2ErrorCode.ProtocolError, true },
        { "SETTINGS not a multiple of 6", H2Wire.Frame(Http2FrameType.Settings, 0, 0, [0, 1, 0, 0, 0]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "SETTINGS ack with payload", H2Wire.Frame(Http2FrameType.Settings, Http2Flags.Ack, 0, [0, 1, 0, 0, 0, 0]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "ENABLE_PUSH 2", H2Wire.SettingsFrame((Http2Setting.EnablePush, 2)), (uint)Http2ErrorCode.ProtocolError, true },
        { "MAX_FRAME_SIZE too small", H2Wire.SettingsFrame((Http2Setting.MaxFrameSize, 16383)), (uint)Http2ErrorCode.ProtocolError, true },
        { "PING of the wrong size", H2Wire.Frame(Http2FrameType.Ping, 0, 0, [1]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "GOAWAY too short", H2Wire.Frame(Http2FrameType.GoAway, 0, 0, [0, 0, 0, 1]), (uint)Http2ErrorCode.FrameSizeError, true },
        { "WINDOW_UPDATE of 0 on the connection", H2Wire.Frame(Http2FrameType.WindowUpdate, 0, 0, [0, 0, 0, 0]), (uint)Http2ErrorCode.ProtocolError, true },
        { "WINDOW_UPDATE of 0 on a stream", H2Wire.Frame(Http2FrameType.WindowUpdate, 0, 3, [0, 0, 0, 0]), (uint)Http2ErrorCode.ProtocolError, false },
        { "CONTINUATION on stream 0", H2Wire.Frame(Http2FrameType.Continuation, 0, 0, []), (uint)Http2ErrorCode.ProtocolError, true },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void RejectsWhatAFrameSaysWrongAboutItself(string what, byte[] frame, uint code, bool connectionError)
    {
        var status = Http2FrameReader.TryRead(new ReadOnlySequence<byte>(frame), 64, out var f, out _, out var error);
        if (connectionError)
        {
            Assert.True(status == ParseStatus.Rejected, what);
            Assert.True(error.IsConnectionError);
            Assert.Equal((Http2ErrorCode)code, error.Code);
        }
        else
        {
            Assert.True(status == ParseStatus.Complete, what);
            Assert.NotNull(f.StreamError);
            Assert.Equal((Http2ErrorCode)code, f.StreamError.Value.Code);
        }
    }

    [Fact]
    public void TheWriterProducesWhatTheReaderReads()
    {
        var buffer = new byte[64];
        Assert.Equal(Http2ErrorCode.RefusedStream, Read(buffer[..Http2FrameWriter.RstStream(buffer, 5, Http2ErrorCode.RefusedStream)]).ErrorCode);
        Assert.Equal(12345, Read(buffer[..Http2FrameWriter.WindowUpdate(buffer, 5, 12345)]).WindowIncrement);
        var g = Read(buffer[..Http2FrameWriter.GoAway(buffer, 77, Http2ErrorCode.EnhanceYourCalm)]);
        Assert.Equal((77, Http2ErrorCode.EnhanceYourCalm), (g.LastStreamId, g.ErrorCode));
        var p = Read(buffer[..Http2FrameWriter.Ping(buffer, true, 42)]);
        Assert.Equal((true, 42ul), (p.IsAck, p.PingData));
        Assert.Equal(9, BinaryPrimitives.ReadUInt16BigEndian(Read(buffer[..Http2FrameWriter.Settings(buffer, false, [(Http2Setting.HeaderTableSize, 9)])]).Payload.ToArray().AsSpan(4)));
    }

    private static Http2Frame Read(byte[] frame)
    {
        Assert.Equal(ParseStatus.Complete, Http2FrameReader.TryRead(new ReadOnlySequence<byte>(frame), 16384, out var f, out _, out var error));
        Assert.Equal(default, error);
        return f;
    }
}
