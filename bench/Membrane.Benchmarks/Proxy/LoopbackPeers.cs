using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Membrane.Benchmarks.Proxy;

/// <summary>An allocation-free HTTP/1.1 origin for loopback benchmarks: answers every request head with a fixed 200.</summary>
internal sealed class FixedOrigin : IDisposable
{
    private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nhello from backend\n");
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _connections = [];

    public FixedOrigin()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        new Thread(Accept) { IsBackground = true, Name = "origin accept" }.Start();
    }

    public IPEndPoint EndPoint { get; }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_connections)
        {
            foreach (var c in _connections)
            {
                c.Dispose();
            }
        }
    }

    private void Accept()
    {
        try
        {
            while (true)
            {
                var c = _listener.Accept();
                c.NoDelay = true;
                lock (_connections)
                {
                    _connections.Add(c);
                }

                new Thread(() => Serve(c)) { IsBackground = true, Name = "origin connection" }.Start();
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static void Serve(Socket c)
    {
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                var n = c.Receive(buffer.AsSpan(filled));
                if (n == 0)
                {
                    return;
                }

                filled += n;
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) >= 0)
                {
                    c.Send(Response);
                    var rest = filled - (end + 4);
                    buffer.AsSpan(end + 4, rest).CopyTo(buffer);
                    filled = rest;
                }
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}

/// <summary>A keep-alive HTTP/1.1 client on one connection, allocation-free per request (blocking socket calls).</summary>
internal sealed class FixedClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _request;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _responseLength;

    public FixedClient(IPEndPoint target, string path)
    {
        _socket.Connect(target);
        _request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: users\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
        _responseLength = ReadResponse(learn: true);
    }

    /// <summary>Sends the request and reads one whole response; returns its length.</summary>
    public int RoundTrip()
    {
        _socket.Send(_request);
        return ReadResponse(learn: false);
    }

    public void Dispose() => _socket.Dispose();

    private int ReadResponse(bool learn)
    {
        if (learn)
        {
            _socket.Send(_request);
            var filled = 0;
            while (true)
            {
                filled += _socket.Receive(_buffer.AsSpan(filled));
                var text = Encoding.ASCII.GetString(_buffer, 0, filled);
                var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (head < 0)
                {
                    continue;
                }

                var cl = System.Text.RegularExpressions.Regex.Match(text, "(?i)content-length: *([0-9]+)");
                var total = head + 4 + int.Parse(cl.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (filled >= total)
                {
                    return total;
                }
            }
        }

        // Responses on this connection have a fixed length (same headers, same body; the Date header is fixed-width).
        var got = 0;
        while (got < _responseLength)
        {
            var n = _socket.Receive(_buffer.AsSpan(0, Math.Min(_buffer.Length, _responseLength - got)));
            if (n == 0)
            {
                throw new InvalidOperationException("connection closed");
            }

            got += n;
        }

        return got;
    }
}
