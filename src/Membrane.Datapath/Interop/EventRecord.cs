using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>Reads a ring buffer record as <c>struct datapath_event</c>.</summary>
internal static class EventRecord
{
    public static readonly int Size = Marshal.SizeOf<datapath_event>();

    /// <summary>The event in <paramref name="record"/>, or false when the record is too short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> record, out datapath_event value)
    {
        if (record.Length < Size)
        {
            value = default;
            return false;
        }

        value = MemoryMarshal.Read<datapath_event>(record);
        return true;
    }
}
