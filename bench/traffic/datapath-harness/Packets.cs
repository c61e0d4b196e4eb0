using System.Buffers.Binary;
using System.Net;

namespace Membrane.DatapathHarness;

/// <summary>Ethernet + IPv4 + TCP frames for BPF_PROG_TEST_RUN.</summary>
internal static class Packets
{
    public const byte Syn = 0x02;
    public const byte Ack = 0x10;
    public const byte SynAck = 0x12;

    public static byte[] Tcp(IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort, byte flags)
    {
        var frame = new byte[14 + 20 + 20];
        frame[12] = 0x08;
        var ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 40);
        ip[8] = 64;
        ip[9] = 6;
        source.TryWriteBytes(ip[12..], out _);
        destination.TryWriteBytes(ip[16..], out _);
        var tcp = frame.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1);
        tcp[12] = 0x50;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        return frame;
    }
}
