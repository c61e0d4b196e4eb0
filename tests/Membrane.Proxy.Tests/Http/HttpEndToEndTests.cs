using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Membrane.Policy.L7.Http;
using Membrane.Policy.MapState;
using Membrane.Proxy.Tests.Support;
using Membrane.Tests.Shared;
using Membrane.Workloads.Http;

namespace Membrane.Proxy.Tests.Http;

/// <summary>Real clients (curl, HttpClient, ClientWebSocket) through an explicit listener to the HTTP workload.</summary>
public sealed class HttpEndToEndTests : IAsyncLifetime
{
    private HttpWorkloadServer _users = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _users = await HttpWorkloadServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));
        _proxy = await ProxyHarness.StartAsync(_users.EndPoint, options: new ProxyServerOptions { RequestHeadersTimeout = TimeSpan.FromSeconds(2) });
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _users.DisposeAsync();
    }

    [Fact]
    public async Task CurlSeesAllowDenyAllowOnOneConnection()
    {
        var url = _proxy.BaseUrl;
        var (code, stdout, stderr) = await Processes.RunAsync("curl", [
            "-sS", "-w", "|%{http_code}|%{num_connects}#", $"{url}/api/v1/users/42",
            "--next", "-sS", "-X", "DELETE", "-w", "|%{http_code}|%{num_connects}#", $"{url}/api/v1/users/42",
            "--next", "-sS", "-w", "|%{http_code}|%{num_connects}#", $"{url}/api/v1/users",
        ]);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('#', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.EndsWith("|200|1", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"path\":\"/api/v1/users/42\"", lines[0], StringComparison.Ordinal);
        Assert.Equal("Access denied\r\n|403|0", lines[1]);
        Assert.EndsWith("|200|0", lines[2], StringComparison.Ordinal); // num_connects 0: the same connection was reused
        var denied = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest, Verdict: L7Verdict.Denied });
        Assert.Equal("DELETE", denied.HttpMethod);
        Assert.EndsWith("/api/v1/users/42", denied.HttpUrl, StringComparison.Ordinal);
        Assert.Equal(TestPolicySource.UsersPolicy, denied.DecidedBy);
        Assert.Equal(Membrane.Policy.Model.TrafficDirection.Ingress, denied.DeniedDirection);
        var response = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, HttpStatus: 200 });
        Assert.True(response.LatencyNs > 0);
        Assert.Equal("HTTP/1.1", response.HttpProtocol);
    }

    [Fact]
    public async Task HttpClientKeepsTheConnectionAcrossDenials()
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(_proxy.BaseUrl) };
        for (var i = 0; i < 5; i++)
        {
            var ok = await client.GetAsync($"/api/v1/users/{i}");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            var echo = await ok.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal($"/api/v1/users/{i}", echo.GetProperty("path").GetString());
            var denied = await client.DeleteAsync($"/api/v1/users/{i}");
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
            Assert.Equal("Access denied\r\n", await denied.Content.ReadAsStringAsync());
            var posted = await client.PostAsync("/api/v1/payments", new StringContent(new string('x', 100_000)));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            Assert.Equal(100_000, (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("bodyBytes").GetInt64());
        }

        Assert.Equal(1, _proxy.Policy.Resolves); // one connection, one policy resolution
    }

    [Fact]
    public async Task CurlStreamsLargeBodiesBothWaysWithExpectContinue()
    {
        var file = Path.Combine(Path.GetTempPath(), $"membrane-proxy-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(file, new byte[3 * 1024 * 1024]);
        try
        {
            // curl sends Expect: 100-continue for bodies over 1 MiB; chunked upload with -H Transfer-Encoding.
            var (code, stdout, stderr) = await Processes.RunAsync("curl", ["-sS", "-v", "-H", "Transfer-Encoding: chunked", "--data-binary", $"@{file}", $"{_proxy.BaseUrl}/api/v1/payments"]);
            Assert.True(code == 0, stderr);
            Assert.Contains("HTTP/1.1 100 Continue", stderr, StringComparison.Ordinal);
            Assert.Contains("\"bodyBytes\":3145728", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task PolicyChangeAppliesToTheNextRequestOnAnOpenConnection()
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(_proxy.BaseUrl) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync("/api/v1/users/1")).StatusCode);

        _proxy.Policy.Set(HttpRuleSet.Compile([(new HttpRule(Method: "DELETE", Path: "/api/v1/users/.*"), TestPolicySource.UsersPolicy)]));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/v1/users/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/users/1")).StatusCode);

        // Egress and ingress both apply: both must allow.
        _proxy.Policy.Set(
            ingress: HttpRuleSet.Compile([(new HttpRule(Path: "/api/v1/.*"), TestPolicySource.UsersPolicy)]),
            egress: HttpRuleSet.Compile([(new HttpRule(Method: "GET"), TestPolicySource.UsersPolicy)]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync("/api/v1/users/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/other")).StatusCode);
        var egressDenial = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest, Verdict: L7Verdict.Denied, HttpMethod: "DELETE" } && e.DeniedDirection == Membrane.Policy.Model.TrafficDirection.Egress);
        Assert.NotNull(egressDenial.Policy);

        // L3/L4 revoked: the open connection is closed at the next request.
        _proxy.Policy.Set(null, l4Allowed: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/api/v1/users/1"));
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ConnectionDenied);
    }

    [Fact]
    public async Task WebSocketUpgradePassesWhenAllowed()
    {
        _proxy.Policy.Set(HttpRuleSet.Compile([(new HttpRule(Method: "GET", Path: "/ws"), TestPolicySource.UsersPolicy)]));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{_proxy.EndPoint}/ws"), CancellationToken.None);
        await ws.SendAsync(Encoding.UTF8.GetBytes("ping through the proxy"), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[256];
        var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Equal("ping through the proxy", Encoding.UTF8.GetString(buffer, 0, r.Count));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);

        using var denied = new ClientWebSocket();
        var e = await Assert.ThrowsAsync<WebSocketException>(() => denied.ConnectAsync(new Uri($"ws://{_proxy.EndPoint}/other"), CancellationToken.None));
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowHeadersAreCutByTheHeaderTimeout()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_proxy.EndPoint);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /api/v1/users/1 HTTP/1.1\r\nHost: users\r\n"));
        var started = Environment.TickCount64;
        var buffer = new byte[1024];
        var total = 0;
        while (true)
        {
            // Keep trickling a header line every 500 ms: a slowloris client. The 2 s header timeout must cut it.
            var pending = socket.ReceiveAsync(buffer.AsMemory(total)).AsTask();
            var done = await Task.WhenAny(pending, Task.Delay(500));
            if (done == pending)
            {
                var n = await pending;
                total += n;
                if (n == 0)
                {
                    break;
                }

                continue;
            }

            Assert.True(Environment.TickCount64 - started < 10_000, "the proxy never cut the slow client");
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes("X-Slow: 1\r\n"));
            }
            catch (SocketException)
            {
                break;
            }
        }

        // Kestrel closes the connection when the header timeout fires; nothing was forwarded.
        Assert.InRange(Environment.TickCount64 - started, 1_500, 10_000);
        Assert.DoesNotContain("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, total), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamDownGives503AndAnEvent()
    {
        using var free = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        free.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closedPort = (IPEndPoint)free.LocalEndPoint!;
        await using var proxy = await ProxyHarness.StartAsync(closedPort);
        using var client = new HttpClient();
        var r = await client.GetAsync($"{proxy.BaseUrl}/api/v1/users/1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var e = proxy.Events.WaitFor(x => x is { Kind: L7EventKind.HttpResponse, HttpStatus: 503 });
        Assert.Equal(L7Verdict.Error, e.Verdict);
        Assert.Contains("ConnectionRefused", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task L4DeniedConnectionIsClosedAtOnce()
    {
        _proxy.Policy.Set(TestPolicySource.UsersRules(), l4Allowed: false);
        using var client = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"{_proxy.BaseUrl}/api/v1/users/1"));
        var e = _proxy.Events.WaitFor(x => x.Kind == L7EventKind.ConnectionDenied);
        Assert.Equal(L7Verdict.Denied, e.Verdict);
        Assert.Equal(TestPolicySource.UsersPolicy, e.DecidedBy);
    }

    [Fact]
    public async Task NoL7RulesMeansAByteRelay()
    {
        _proxy.Policy.Set(null, protocol: L7Protocol.None);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_proxy.EndPoint);
        // Not even a valid request for the proxy's HTTP engine: lowercase method, passed through untouched.
        await socket.SendAsync(Encoding.ASCII.GetBytes("delete /api/v1/users/9 HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5))) > 0)
        {
            received.Write(buffer, 0, n);
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.Contains("\"method\":\"delete\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_proxy.Events.Events, e => e.Kind == L7EventKind.HttpRequest);
    }

    [Fact]
    public async Task ListenersAreAddedAndRemovedAtRuntime()
    {
        var second = await _proxy.Server.AddExplicitListenerAsync(new IPEndPoint(IPAddress.Loopback, 0), _users.EndPoint);
        Assert.Equal(2, _proxy.Server.Listeners.Count);
        using (var client = new HttpClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"http://{second.LocalEndPoint}/api/v1/users/1")).StatusCode);
        }

        await _proxy.Server.RemoveListenerAsync(second);
        Assert.Single(_proxy.Server.Listeners);
        using var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var error = await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(second.LocalEndPoint));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
