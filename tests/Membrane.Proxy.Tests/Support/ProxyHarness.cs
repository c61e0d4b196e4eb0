using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Membrane.Proxy.Tests.Support;

/// <summary>A <see cref="ProxyServer"/> with one explicit listener on loopback port 0 in front of <paramref name="upstream"/>.</summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private ProxyHarness(ProxyServer server, ProxyListener listener, TestPolicySource policy, RecordingSink events)
    {
        Server = server;
        Listener = listener;
        Policy = policy;
        Events = events;
    }

    public ProxyServer Server { get; }

    public ProxyListener Listener { get; }

    public TestPolicySource Policy { get; }

    public RecordingSink Events { get; }

    public IPEndPoint EndPoint => Listener.LocalEndPoint;

    public string BaseUrl => $"http://{EndPoint}";

    public static async Task<ProxyHarness> StartAsync(IPEndPoint upstream, TestPolicySource? policy = null, ProxyServerOptions? options = null)
    {
        policy ??= new TestPolicySource(TestPolicySource.UsersRules());
        var events = new RecordingSink();
        var server = new ProxyServer(policy, events, options);
        var listener = await server.AddExplicitListenerAsync(new IPEndPoint(IPAddress.Loopback, 0), upstream);
        return new ProxyHarness(server, listener, policy, events);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    /// <summary>
    /// Sends raw bytes on a fresh connection and returns everything the proxy answered, reading until the proxy
    /// closed, <paramref name="expectedResponses"/> complete final responses arrived (then 200 ms more), or 5 s of silence.
    /// </summary>
    public async Task<string> SendRawAsync(byte[] request, int expectedResponses = int.MaxValue, bool halfClose = false, int idleMs = 5000, bool headRequest = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(EndPoint);
        await socket.SendAsync(request, SocketFlags.None);
        if (halfClose)
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var cts = new CancellationTokenSource(idleMs);
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                break;
            }

            if (n == 0)
            {
                break;
            }

            received.Write(buffer, 0, n);
            if (CompleteResponses(Encoding.Latin1.GetString(received.ToArray()), headRequest) >= expectedResponses)
            {
                idleMs = 200;
            }
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>Counts complete final (non-1xx) responses with a Content-Length body.</summary>
    public static int CompleteResponses(string raw, bool headRequest = false)
    {
        var count = 0;
        var pos = 0;
        while (true)
        {
            var m = System.Text.RegularExpressions.Regex.Match(raw[pos..], @"HTTP/1\.1 (\d{3})[^\r\n]*\r\n");
            if (!m.Success)
            {
                return count;
            }

            var start = pos + m.Index;
            var headEnd = raw.IndexOf("\r\n\r\n", start, StringComparison.Ordinal);
            if (headEnd < 0)
            {
                return count;
            }

            var head = raw[start..headEnd];
            var cl = System.Text.RegularExpressions.Regex.Match(head, @"(?i)content-length: *(\d+)");
            var bodyEnd = headEnd + 4 + (cl.Success && !headRequest ? int.Parse(cl.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0);
            if (bodyEnd > raw.Length)
            {
                return count;
            }

            if (m.Groups[1].Value[0] != '1')
            {
                count++;
            }

            pos = bodyEnd;
        }
    }

    /// <summary>Status codes of every response in a raw response stream, in order (interim 100 included).</summary>
    public static IReadOnlyList<int> StatusCodes(string raw) =>
        [.. System.Text.RegularExpressions.Regex.Matches(raw, @"HTTP/1\.1 (\d{3})").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
}
