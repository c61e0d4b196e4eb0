using System.Net;
using System.Net.Sockets;
using System.Text;
using Membrane.Datapath.Netns;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Membrane.Agent.Tests.Support;

/// <summary>
/// A real HTTP/1.1 server (Kestrel) inside a pod's network namespace: its listening socket is created on a thread that
/// entered the pod's namespace. Every request gets 200 and the body <c>METHOD PATH</c>, so tests see what arrived.
/// </summary>
internal sealed class PodHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NetnsThread _thread;

    private PodHttpServer(WebApplication app, NetnsThread thread)
    {
        _app = app;
        _thread = thread;
    }

    public static async Task<PodHttpServer> StartAsync(string namespacePath, int port)
    {
        var thread = new NetnsThread(namespacePath);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Any, port));
        builder.WebHost.UseSockets(o => o.CreateBoundListenSocket = ep => thread.Run(() => SocketTransportOptions.CreateDefaultBoundListenSocket(ep)));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync($"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}\n");
        });
        await app.StartAsync();
        return new PodHttpServer(app, thread);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _thread.Dispose();
    }
}

/// <summary>A TCP echo server inside a pod's network namespace (line in, same line out).</summary>
internal sealed class PodEchoServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();

    public PodEchoServer(string namespacePath, int port)
    {
        using var thread = new NetnsThread(namespacePath);
        _listener = thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(new IPEndPoint(IPAddress.Any, port));
            s.Listen(16);
            return s;
        });
        _ = AcceptLoop();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Echo(client);
        }
    }

    private async Task Echo(Socket client)
    {
        using (client)
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}

/// <summary>A TCP client inside a pod's namespace doing line round trips (the live connection of the restart test).</summary>
internal sealed class PodEchoClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[4096];

    public PodEchoClient(string namespacePath, IPEndPoint server)
    {
        using var thread = new NetnsThread(namespacePath);
        _socket = thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            s.Connect(server);
            return s;
        });
    }

    /// <summary>Sends a line and waits for its echo; false when it does not come back within the timeout.</summary>
    public async Task<bool> RoundTripAsync(string line, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var payload = Encoding.ASCII.GetBytes(line + "\n");
        try
        {
            await _socket.SendAsync(payload, SocketFlags.None, cts.Token);
            var received = 0;
            while (received < payload.Length)
            {
                var n = await _socket.ReceiveAsync(_buffer.AsMemory(received), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return false;
                }

                received += n;
            }

            return _buffer.AsSpan(0, received).SequenceEqual(payload);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
