using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Membrane.Datapath.Maps;

/// <summary>IPv4 addresses as the kernel maps hold them: the four address bytes in network order, read as a
/// little-endian 32-bit value (so the bytes in memory are the wire bytes).</summary>
internal static class AddressCodec
{
    public static uint ToNetworkOrder(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address}: only IPv4 addresses are supported by the datapath");
        }

        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public static IPAddress FromNetworkOrder(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
