using System.Text;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http;

/// <summary>
/// The hardening corpus: raw requests (every probe of proxy-design-experiment §6, plus more) sent over a real socket
/// to the proxy in front of <see cref="RawOrigin"/>; each case asserts the statuses the client got and exactly
/// which request lines the upstream saw.
/// </summary>
public sealed class RequestCorpusTests : IAsyncLifetime
{
    private RawOrigin _origin = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _origin = new RawOrigin();
        _proxy = await ProxyHarness.StartAsync(_origin.EndPoint);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _origin.DisposeAsync();
    }

    /// <summary>name, raw request, expected statuses, expected upstream request lines, expect an error event.</summary>
    public static TheoryData<string, string, int[], string[], bool> Corpus() => new()
    {
        { "allowed GET", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "denied DELETE", "DELETE /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [403], [], false },
        { "pipelined allow, deny, allow", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\nGET /api/v1/orders/1 HTTP/1.1\r\nHost: users\r\n\r\nGET /api/v1/users/2 HTTP/1.1\r\nHost: users\r\n\r\n", [200, 403, 200], ["GET /api/v1/users/1 HTTP/1.1", "GET /api/v1/users/2 HTTP/1.1"], false },
        { "CL.TE smuggle", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "TE.CL smuggle", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n1e\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n0\r\n\r\n", [400], [], true },
        { "TE xchunked", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", [400], [], true },
        { "space before colon in TE", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", [400], [], true },
        { "TE chunked, identity", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", [400], [], true },
        { "two Content-Length", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\nGET /admin HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "Content-Length list", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nContent-Length: 5, 5\r\n\r\nhello", [400], [], true },
        { "obs-fold hiding TE", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", [400], [], true },
        { "bare LF line ends", "GET /api/v1/users/1 HTTP/1.1\nHost: users\n\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "bare LF hiding a Content-Length", "GET /api/v1/users/1 HTTP/1.1\nHost: users\nContent-Length: 0\n\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "chunk size over 64 bits", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000001\r\nx\r\n0\r\n\r\n", [400], [], true },
        { "NUL in header value", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nX-A: a\0b\r\n\r\n", [400], [], true },
        { "dot-segments to /admin", "GET /api/v1/users/../../admin HTTP/1.1\r\nHost: users\r\n\r\n", [403], [], false },
        { "encoded dot-segments", "GET /api/v1/users/%2e%2e/%2e%2e/admin HTTP/1.1\r\nHost: users\r\n\r\n", [403], [], false },
        { "..%2f bypass", "GET /api/v1/users/..%2f..%2fadmin HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "%5C bypass", "GET /api/v1/users/..%5c..%5cadmin HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "encoded unreserved is decoded and forwarded decoded", "GET /api/v1/%75sers/1 HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "double slash merged", "GET //api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "dot-segment inside allowed prefix forwarded normalized", "GET /api/v1/users/./1/../2 HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/2 HTTP/1.1"], false },
        { "absolute-form", "GET http://users/api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "absolute-form authority differs from Host", "GET http://admin/api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "lowercase method", "get /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [403], [], false },
        { "HEAD not allowed by a GET rule", "HEAD /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n\r\n", [403], [], false },
        { "40 KB header", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nX-Big: " + new string('a', 40 * 1024) + "\r\n\r\n", [431], [], true },
        { "%00 in path", "GET /api/v1/users/%00 HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "malformed percent-encoding", "GET /api/v1/users/%zz HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "backslash in path", "GET /api/v1/users/..\\..\\admin HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "query forwarded unchanged", "GET /api/v1/users/1?x=%2F&y=../z HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/1?x=%2F&y=../z HTTP/1.1"], false },
        { "reserved escape kept, hex upper-cased", "GET /api/v1/users/a%3fb HTTP/1.1\r\nHost: users\r\n\r\n", [200], ["GET /api/v1/users/a%3Fb HTTP/1.1"], false },
        { "missing Host", "GET /api/v1/users/1 HTTP/1.1\r\n\r\n", [400], [], true },
        { "two Host fields", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nHost: admin\r\n\r\n", [400], [], true },
        { "space in target", "GET /api/v1/users/1 x HTTP/1.1\r\nHost: users\r\n\r\n", [400], [], true },
        { "HTTP/1.0 without Host", "GET /api/v1/users/1 HTTP/1.0\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
        { "denied request with a body keeps the connection usable", "DELETE /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\n\r\nhelloGET /api/v1/users/3 HTTP/1.1\r\nHost: users\r\n\r\n", [403, 200], ["GET /api/v1/users/3 HTTP/1.1"], false },
        { "chunked request body re-framed", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [200], ["POST /api/v1/payments HTTP/1.1"], false },
        { "Expect 100-continue with the body already sent", "POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", [200], ["POST /api/v1/payments HTTP/1.1"], false },
        { "Expect 100-continue on a denied request", "POST /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", [403], [], false },
        { "hop-by-hop fields not forwarded", "GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n\r\n", [200], ["GET /api/v1/users/1 HTTP/1.1"], false },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task ProxyAnswersAndForwardsExactly(string name, string request, int[] statuses, string[] upstreamLines, bool errorEvent)
    {
        var raw = await _proxy.SendRawAsync(Encoding.Latin1.GetBytes(request), statuses.Count(s => s >= 200), headRequest: request.StartsWith("HEAD", StringComparison.Ordinal));
        Assert.True(statuses.SequenceEqual(ProxyHarness.StatusCodes(raw)), $"{name}: got {raw}; events: {string.Join(" | ", _proxy.Events.Events.Select(e => $"{e.Kind} {e.HttpStatus} {e.Detail}"))}");
        Assert.Equal(upstreamLines, _origin.RequestLines.ToArray());
        Assert.DoesNotContain(_origin.Requests, r => r.Contains("/admin", StringComparison.Ordinal));
        if (errorEvent)
        {
            _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError);
        }

        if (statuses.Contains(403) && !request.StartsWith("HEAD", StringComparison.Ordinal))
        {
            Assert.Contains("Access denied\r\n", raw, StringComparison.Ordinal);
            _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest, Verdict: L7Verdict.Denied });
        }
    }

    [Fact]
    public async Task ExpectContinueIsAnsweredBeforeTheBodyIsSent()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(_proxy.EndPoint);
        await socket.SendAsync(Encoding.ASCII.GetBytes("POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
        var buffer = new byte[4096];
        var n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        Assert.Empty(_origin.Requests);
        await socket.SendAsync(Encoding.ASCII.GetBytes("hello"));
        n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nhello", Assert.Single(_origin.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedHeadIsReserializedWithoutHopByHopFields()
    {
        var raw = await _proxy.SendRawAsync(expectedResponses: 1, request: Encoding.ASCII.GetBytes("POST /api/v1/payments HTTP/1.1\r\nHost: users\r\nConnection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Trace: 1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        Assert.Equal([200], ProxyHarness.StatusCodes(raw).Where(s => s != 100));
        var forwarded = Assert.Single(_origin.Requests);
        Assert.Contains("\r\nX-Trace: 1\r\n", forwarded, StringComparison.Ordinal);
        Assert.Contains("\r\nTransfer-Encoding: chunked\r\n", forwarded, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n5\r\nhello\r\n0\r\n\r\n", forwarded, StringComparison.Ordinal);
        foreach (var hop in new[] { "Keep-Alive", "TE:", "Expect", "Connection", "X-Hop" })
        {
            Assert.DoesNotContain(hop, forwarded, StringComparison.OrdinalIgnoreCase);
        }
    }
}
