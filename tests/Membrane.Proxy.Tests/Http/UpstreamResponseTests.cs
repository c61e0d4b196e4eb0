using System.Net;
using System.Text;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http;

/// <summary>What the client sees for each kind of upstream response (framing, errors, interim responses).</summary>
public sealed class UpstreamResponseTests : IAsyncLifetime
{
    private RawOrigin _origin = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _origin = new RawOrigin();
        _proxy = await ProxyHarness.StartAsync(_origin.EndPoint, options: new ProxyServerOptions { UpstreamIdleTimeout = TimeSpan.FromSeconds(1) });
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _origin.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string response, HttpMethod? method = null)
    {
        _origin.Respond = _ => Encoding.Latin1.GetBytes(response);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var r = await client.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Get, $"{_proxy.BaseUrl}/api/v1/users/1"));
        return (r.StatusCode, await r.Content.ReadAsStringAsync(), r);
    }

    [Fact]
    public async Task ChunkedResponseIsRelayed()
    {
        var (status, body, r) = await GetAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("hello world", body);
        Assert.Equal("1", r.Headers.GetValues("X-Up").Single());
    }

    [Fact]
    public async Task UntilCloseResponseIsRelayedAndTheUpstreamConnectionDropped()
    {
        _origin.Respond = _ => Encoding.ASCII.GetBytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style body");
        using var client = new HttpClient();
        var r = await client.GetAsync($"{_proxy.BaseUrl}/api/v1/users/1");
        Assert.Equal("old style body", await r.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"{_proxy.BaseUrl}/api/v1/users/2")).StatusCode);
        Assert.Equal(2, _origin.Peers.Count); // the second request needed a new upstream connection
    }

    [Fact]
    public async Task InterimResponsesAreNotRelayedAndDuplicateFieldsAreKept()
    {
        var (status, body, r) = await GetAsync("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("ok", body);
        Assert.Equal(["a=1", "b=2"], r.Headers.GetValues("Set-Cookie"));
    }

    [Fact]
    public async Task HeadResponseHasNoBody()
    {
        _proxy.Policy.Set(Membrane.Policy.L7.Http.HttpRuleSet.Compile([(new Membrane.Policy.L7.Http.HttpRule(Method: "HEAD"), TestPolicySource.UsersPolicy)]));
        var (status, body, r) = await GetAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", HttpMethod.Head);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("", body);
        Assert.Equal(1000, r.Content.Headers.ContentLength);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")]
    [InlineData("NOT HTTP AT ALL, NOT HTTP AT ALL\r\n\r\n")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")]
    public async Task InvalidUpstreamResponseGives502(string response)
    {
        var (status, _, _) = await GetAsync(response);
        Assert.Equal(HttpStatusCode.BadGateway, status);
        var e = _proxy.Events.WaitFor(x => x is { Kind: L7EventKind.HttpResponse, HttpStatus: 502 });
        Assert.Equal(L7Verdict.Error, e.Verdict);
    }

    [Fact]
    public async Task LargeResponseHeadsAreAcceptedUpToTheLimit()
    {
        var (status, body, r) = await GetAsync($"HTTP/1.1 200 OK\r\nX-Big: {new string('a', 24 * 1024)}\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", body);
        Assert.Equal(24 * 1024, r.Headers.GetValues("X-Big").Single().Length);
        var (tooLarge, _, _) = await GetAsync($"HTTP/1.1 200 OK\r\nX-Big: {new string('a', 40 * 1024)}\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal(HttpStatusCode.BadGateway, tooLarge);
    }

    [Fact]
    public async Task SilentUpstreamGives504AfterTheIdleTimeout()
    {
        _origin.Respond = _ => [];
        using var client = new HttpClient();
        var started = Environment.TickCount64;
        var r = await client.GetAsync($"{_proxy.BaseUrl}/api/v1/users/1");
        Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode);
        Assert.InRange(Environment.TickCount64 - started, 900, 5000);
        var e = _proxy.Events.WaitFor(x => x is { Kind: L7EventKind.HttpResponse, HttpStatus: 504 });
        Assert.Equal("upstream idle timeout", e.Detail);
    }
}
