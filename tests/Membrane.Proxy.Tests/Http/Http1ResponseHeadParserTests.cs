using System.Text;
using Membrane.Proxy.Http;

namespace Membrane.Proxy.Tests.Http;

public sealed class Http1ResponseHeadParserTests
{
    private const string Head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";

    [Fact]
    public void ParsesStatusFramingAndFields()
    {
        var head = new Http1ResponseHead();
        Assert.Equal(ParseStatus.Complete, Http1ResponseHeadParser.Parse(Encoding.ASCII.GetBytes(Head + "hello world!"), head));
        Assert.Equal(200, head.StatusCode);
        Assert.True(head.IsHttp11);
        Assert.Equal(Head.Length, head.HeadLength);
        Assert.Equal(ResponseFraming.ContentLength, head.Framing);
        Assert.Equal(12, head.ContentLength);
        Assert.False(head.ConnectionClose);
        Assert.Equal(4, head.HeaderCount);
        var bytes = Encoding.ASCII.GetBytes(Head);
        var f = head.Headers[3];
        Assert.Equal("Set-Cookie", Encoding.ASCII.GetString(bytes, f.NameStart, f.NameLength));
        Assert.Equal("b=2", Encoding.ASCII.GetString(bytes, f.ValueStart, f.ValueLength));
    }

    [Fact]
    public void EveryPrefixNeedsMoreData()
    {
        var bytes = Encoding.ASCII.GetBytes(Head);
        var head = new Http1ResponseHead();
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, Http1ResponseHeadParser.Parse(bytes.AsSpan(0, i), head));
        }
    }

    [Fact]
    public void EveryTwoAndThreeSegmentSplitFedIncrementallyGivesTheSameHead()
    {
        // The relay accumulates received segments in one buffer and parses again after each receive.
        var bytes = Encoding.ASCII.GetBytes(Head + "trailing body bytes");
        for (var a = 1; a < Head.Length; a++)
        {
            for (var b = a; b < Math.Min(Head.Length + 2, bytes.Length); b += 7)
            {
                var head = new Http1ResponseHead();
                var status = ParseStatus.NeedMoreData;
                foreach (var end in new[] { a, b, bytes.Length })
                {
                    status = Http1ResponseHeadParser.Parse(bytes.AsSpan(0, end), head);
                    if (status != ParseStatus.NeedMoreData)
                    {
                        Assert.True(end >= Head.Length);
                        break;
                    }
                }

                Assert.Equal(ParseStatus.Complete, status);
                Assert.Equal(Head.Length, head.HeadLength);
                Assert.Equal(12, head.ContentLength);
            }
        }
    }

    [Fact]
    public void TrailingGarbageIsNotPartOfTheHead()
    {
        var head = new Http1ResponseHead();
        Assert.Equal(ParseStatus.Complete, Http1ResponseHeadParser.Parse(Encoding.ASCII.GetBytes(Head + "\0\0garbage\r\n\r\nHTTP/1.1 500"), head));
        Assert.Equal(Head.Length, head.HeadLength);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", (int)ResponseFraming.Chunked, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", (int)ResponseFraming.UntilClose, true)]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", (int)ResponseFraming.UntilClose, true)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", (int)ResponseFraming.None, false)]
    [InlineData("HTTP/1.1 304 Not Modified\r\n\r\n", (int)ResponseFraming.None, false)]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", (int)ResponseFraming.None, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", (int)ResponseFraming.ContentLength, true)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", (int)ResponseFraming.ContentLength, false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive, Close\r\n\r\n", (int)ResponseFraming.ContentLength, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", (int)ResponseFraming.ContentLength, false)]
    [InlineData("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", (int)ResponseFraming.ContentLength, false)]
    public void Framing(string text, int framing, bool close)
    {
        var head = new Http1ResponseHead();
        Assert.Equal(ParseStatus.Complete, Http1ResponseHeadParser.Parse(Encoding.ASCII.GetBytes(text), head));
        Assert.Equal((ResponseFraming)framing, head.Framing);
        Assert.Equal(close, head.ConnectionClose);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 0\n\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\n: x\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 abc OK\r\n\r\n")]
    [InlineData("HTTP/2.0 200 OK\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n")]
    [InlineData("GARBAGEGARBAGEGARBAGE")]
    public void RejectsMalformedHeads(string text)
    {
        var head = new Http1ResponseHead();
        Assert.Equal(ParseStatus.Rejected, Http1ResponseHeadParser.Parse(Encoding.Latin1.GetBytes(text), head));
        Assert.NotNull(head.Error);
    }

    [Fact]
    public void TooManyFieldsIsRejected()
    {
        var text = "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Range(0, 101).Select(i => $"X-{i}: v\r\n")) + "\r\n";
        Assert.Equal(ParseStatus.Rejected, Http1ResponseHeadParser.Parse(Encoding.ASCII.GetBytes(text), new Http1ResponseHead()));
    }

    [Fact]
    public void ParsingAllocatesNothing()
    {
        var bytes = Encoding.ASCII.GetBytes(Head);
        var head = new Http1ResponseHead();
        Http1ResponseHeadParser.Parse(bytes, head);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Http1ResponseHeadParser.Parse(bytes, head);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
