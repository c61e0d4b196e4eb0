using System.Collections.Concurrent;
using System.Net;
using Membrane.Proxy.Listener;

namespace Membrane.Proxy.Http2;

/// <summary>
/// The HTTP/2 client connections of one listener that go to the same upstream from the same client address (the pool
/// key: in transparent mode upstream sockets are bound to the client's address), and the multiplexed upstream
/// connections they share, one set per source identity (each marked with it). One gate serializes all of their work:
/// a stream touches both a client and an upstream connection, and with inline socket completions all of it runs on
/// the socket engine's thread anyway, so the gate is uncontended; it also lets one read's frames for several streams
/// leave in one write per peer (<see cref="FlushTouched"/>).
/// </summary>
internal sealed class Http2Route
{
    private readonly List<FrameOutput> _touched = [];
    private readonly List<Http2UpstreamSession> _upstreams = [];
    private readonly Stack<Http2ProxyStream> _pool = new();
    private int _clients;

    public Http2Route(Http2Routes owner, object key, ListenerRuntime listener, ConnectionInfo representative)
    {
        Owner = owner;
        Key = key;
        Listener = listener;
        Representative = representative;
        Limits = owner.Limits;
    }

    /// <summary>Serializes every session and stream of the route.</summary>
    public object Gate { get; } = new();

    /// <summary>The routes of the listener.</summary>
    public Http2Routes Owner { get; }

    /// <summary>The pool key.</summary>
    public object Key { get; }

    /// <summary>The listener.</summary>
    public ListenerRuntime Listener { get; }

    /// <summary>A client connection of the route: its client address and destination open upstream connections.</summary>
    public ConnectionInfo Representative { get; }

    /// <summary>Settings and limits.</summary>
    public Http2Limits Limits { get; }

    /// <summary>True once the route was removed from its table: a client that found it must look again.</summary>
    public bool Retired { get; private set; }

    /// <summary>Scratch for encoding one header block (under the gate).</summary>
    public byte[] BlockScratch { get; private set; } = new byte[4096];

    private char[] _pathChars = new char[1024];
    private char[] _hostChars = new char[256];
    private readonly char[] _normalized = new char[8 * 1024];

    /// <summary>Scratch for header values shown to policy (under the gate).</summary>
    public char[] ValueChars { get; } = new char[16 * 1024];

    /// <summary>Scratch for a raw request target of <paramref name="length"/> characters (under the gate).</summary>
    public char[] PathChars(int length) => _pathChars.Length >= length ? _pathChars : _pathChars = new char[Math.Max(length, _pathChars.Length * 2)];

    /// <summary>Scratch for the normalized target (its length bounds the targets accepted, as HTTP/1.1's 8 KB).</summary>
    public char[] NormalizedChars() => _normalized;

    /// <summary>Scratch for the authority of <paramref name="length"/> characters (under the gate).</summary>
    public char[] HostChars(int length) => _hostChars.Length >= length ? _hostChars : _hostChars = new char[Math.Max(length, _hostChars.Length * 2)];

    /// <summary>A header block scratch of at least <paramref name="size"/> bytes.</summary>
    public byte[] BlockBuffer(int size)
    {
        if (BlockScratch.Length < size)
        {
            BlockScratch = new byte[Math.Max(size, BlockScratch.Length * 2)];
        }

        return BlockScratch;
    }

    /// <summary>Schedules <paramref name="output"/> for the flush at the end of the current batch.</summary>
    public void Touch(FrameOutput output)
    {
        if (!output.Touched)
        {
            output.Touched = true;
            _touched.Add(output);
        }
    }

    /// <summary>Flushes every output written during the batch (under the gate).</summary>
    public void FlushTouched()
    {
        for (var i = 0; i < _touched.Count; i++)
        {
            var output = _touched[i];
            output.Touched = false;
            output.Flush();
        }

        _touched.Clear();
    }

    /// <summary>A stream object from the pool.</summary>
    public Http2ProxyStream RentStream() => _pool.Count > 0 ? _pool.Pop() : new Http2ProxyStream(Limits);

    /// <summary>Returns a finished stream to the pool.</summary>
    public void ReturnStream(Http2ProxyStream stream)
    {
        stream.Reset();
        // A stream whose header arena grew for an unusually large request is not kept (bounded idle memory).
        if (_pool.Count < 256 && stream.RequestHeaders.Capacity <= 16 * 1024)
        {
            _pool.Push(stream);
        }
    }

    /// <summary>
    /// The upstream connection for a new stream of <paramref name="identity"/>: an open one with a free stream slot,
    /// else a new one (connecting; streams wait in it until it is ready).
    /// </summary>
    public Http2UpstreamSession UpstreamFor(uint identity)
    {
        Http2UpstreamSession? leastLoaded = null;
        var same = 0;
        foreach (var u in _upstreams)
        {
            if (u.Identity != identity || !u.AcceptsStreams)
            {
                continue;
            }

            same++;
            if (u.HasFreeSlot)
            {
                return u;
            }

            if (leastLoaded is null || u.Load < leastLoaded.Load)
            {
                leastLoaded = u;
            }
        }

        if (leastLoaded is not null && same >= 64)
        {
            // Enough connections for one identity: further streams wait for a slot.
            return leastLoaded;
        }

        var created = new Http2UpstreamSession(this, identity);
        _upstreams.Add(created);
        created.Start();
        return created;
    }

    /// <summary>Forgets a closed upstream connection.</summary>
    public void RemoveUpstream(Http2UpstreamSession session)
    {
        _upstreams.Remove(session);
        RetireIfUnused();
    }

    /// <summary>Counts a client connection in (false when the route was retired meanwhile).</summary>
    public bool AddClient()
    {
        if (Retired)
        {
            return false;
        }

        _clients++;
        return true;
    }

    /// <summary>Counts a client connection out.</summary>
    public void RemoveClient()
    {
        _clients--;
        RetireIfUnused();
    }

    /// <summary>Closes every upstream connection (the listener stops).</summary>
    public void CloseAll()
    {
        foreach (var u in _upstreams.ToArray())
        {
            u.Abort("listener stopped");
        }
    }

    /// <summary>Upstream connections, for the idle sweep and tests.</summary>
    public IReadOnlyList<Http2UpstreamSession> Upstreams => _upstreams;

    private void RetireIfUnused()
    {
        if (_clients == 0 && _upstreams.Count == 0 && !Retired)
        {
            Retired = true;
            Owner.Remove(this);
        }
    }
}

/// <summary>The HTTP/2 routes of one listener, by pool key.</summary>
internal sealed class Http2Routes(ListenerRuntime listener, Http2Limits limits)
{
    private readonly ConcurrentDictionary<object, Http2Route> _routes = new();

    /// <summary>Settings and limits of every route.</summary>
    public Http2Limits Limits { get; } = limits;

    /// <summary>Number of live routes (tests).</summary>
    public int Count => _routes.Count;

    /// <summary>Finds or creates the route of a client connection and counts it in (under the route's gate).</summary>
    public Http2Route Join(ConnectionInfo info)
    {
        var key = KeyOf(info);
        while (true)
        {
            var route = _routes.GetOrAdd(key, k => new Http2Route(this, k, listener, info));
            lock (route.Gate)
            {
                if (route.AddClient())
                {
                    return route;
                }
            }

            _routes.TryRemove(new KeyValuePair<object, Http2Route>(key, route));
        }
    }

    /// <summary>Closes every upstream connection of every route.</summary>
    public void CloseAll()
    {
        foreach (var route in _routes.Values)
        {
            lock (route.Gate)
            {
                route.CloseAll();
                route.FlushTouched();
            }
        }
    }

    internal void Remove(Http2Route route) => _routes.TryRemove(new KeyValuePair<object, Http2Route>(route.Key, route));

    private static object KeyOf(ConnectionInfo info) => info.Mode == ProxyMode.Transparent
        ? (info.Client.Address, info.OriginalDestination)
        : (IPAddress.None, info.OriginalDestination);
}
