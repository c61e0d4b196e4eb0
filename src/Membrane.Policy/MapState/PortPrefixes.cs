namespace Membrane.Policy.MapState;

/// <summary>Splits port ranges into the aligned prefix blocks an LPM policy map can hold (Cilium's port ranges).</summary>
public static class PortPrefixes
{
    /// <summary>
    /// The minimal list of (port, prefix length) blocks that exactly cover <paramref name="first"/>–<paramref name="last"/>
    /// (inclusive), lowest first. <c>0–65535</c> is one block of prefix 0.
    /// </summary>
    public static IReadOnlyList<(ushort Port, byte PrefixLength)> Split(ushort first, ushort last)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first, last);
        var blocks = new List<(ushort, byte)>();
        var lo = (int)first;
        while (lo <= last)
        {
            var size = 1;
            while (size < 65536 && (lo & ((size << 1) - 1)) == 0 && lo + (size << 1) - 1 <= last)
            {
                size <<= 1;
            }

            blocks.Add(((ushort)lo, (byte)(16 - System.Numerics.BitOperations.Log2((uint)size))));
            lo += size;
        }

        return blocks;
    }
}
