using System.Buffers;
using System.IO.Pipelines;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>
/// A real <see cref="PipeFrameOutput"/> over an in-memory pipe, for unit tests of the types that write frames: what
/// they wrote is flushed and read back as frames with the proxy's own frame reader.
/// </summary>
internal sealed class CapturedFrameOutput : IFrameOutputOwner
{
    private readonly Pipe _pipe = new();

    public CapturedFrameOutput(Http2Limits? limits = null)
    {
        limits ??= new Http2Limits();
        var route = new Http2Route(new Http2Routes(null!, limits), new object(), null!, null!);
        Output = new PipeFrameOutput(route, this, _pipe.Writer, limits.MaxOutputBytes);
    }

    public PipeFrameOutput Output { get; }

    /// <summary>The frames written since the last call: type, stream id, and the WINDOW_UPDATE increment (else 0).</summary>
    public List<(Http2FrameType Type, int StreamId, int Increment)> Frames()
    {
        Output.Flush();
        var frames = new List<(Http2FrameType, int, int)>();
        if (!_pipe.Reader.TryRead(out var result))
        {
            return frames;
        }

        var buffer = result.Buffer;
        while (Http2FrameReader.TryRead(buffer, Http2Constants.DefaultMaxFrameSize, out var frame, out var end, out _) == ParseStatus.Complete)
        {
            frames.Add((frame.Type, frame.StreamId, frame.Type == Http2FrameType.WindowUpdate ? frame.WindowIncrement : 0));
            buffer = buffer.Slice(end);
        }

        Assert.True(buffer.IsEmpty, "a partial frame was written");
        _pipe.Reader.AdvanceTo(buffer.End);
        return frames;
    }

    public void OnOutputWritable()
    {
    }

    public void OnOutputFailed(Exception? error) => throw new InvalidOperationException("the in-memory output failed", error);

    /// <summary>Reads one whole frame from bytes (as the sessions receive it).</summary>
    public static Http2Frame Parse(byte[] bytes)
    {
        Assert.Equal(ParseStatus.Complete, Http2FrameReader.TryRead(new ReadOnlySequence<byte>(bytes), Http2Constants.DefaultMaxFrameSize, out var frame, out _, out _));
        return frame;
    }
}
