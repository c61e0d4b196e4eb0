using System.Buffers.Binary;
using System.Net.Sockets;

namespace Membrane.Proxy.Listener;

/// <summary>Linux socket options the proxy needs that .NET does not name (datapath-facts §4).</summary>
internal static class SocketOptions
{
    private const int SolIp = 0;
    private const int SolSocket = 1;
    private const int IpTransparent = 19;
    private const int SoMark = 36;

    /// <summary>Marker of connections the proxy opens upstream (MARK_FROM_PROXY), with the source identity in bits 16+.</summary>
    public static uint UpstreamMark(uint sourceIdentity) => 0x0B00u | (sourceIdentity << 16);

    /// <summary>Sets <c>IP_TRANSPARENT</c> (CAP_NET_ADMIN): a listener accepts redirected connections for any
    /// destination, an upstream socket may bind to a non-local address (the client's).</summary>
    public static void SetTransparent(Socket socket) => SetInt(socket, SolIp, IpTransparent, 1);

    /// <summary>Sets <c>SO_MARK</c> (CAP_NET_ADMIN).</summary>
    public static void SetMark(Socket socket, uint mark) => SetInt(socket, SolSocket, SoMark, unchecked((int)mark));

    /// <summary>Reads <c>SO_MARK</c>.</summary>
    public static uint GetMark(Socket socket)
    {
        Span<byte> value = stackalloc byte[4];
        socket.GetRawSocketOption(SolSocket, SoMark, value);
        return BinaryPrimitives.ReadUInt32LittleEndian(value);
    }

    private static void SetInt(Socket socket, int level, int name, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        socket.SetRawSocketOption(level, name, bytes);
    }
}
