using System.Text;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Tests.Http2.Hpack;

/// <summary>Feeds header blocks to a decoder in pieces, carrying unconsumed bytes over as the sessions do.</summary>
internal static class HpackTestSupport
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Decodes <paramref name="block"/> cut at <paramref name="cuts"/>; returns the status and the fields.</summary>
    public static (ParseStatus Status, string Fields) Decode(HpackDecoder decoder, byte[] block, params int[] cuts)
    {
        var list = new HeaderList(maxListSize: 1 << 20, maxFields: 1000);
        var bounds = cuts.Where(c => c > 0 && c < block.Length).Distinct().Order().Append(block.Length).ToArray();
        var carry = new List<byte>();
        var start = 0;
        var status = ParseStatus.NeedMoreData;
        foreach (var end in bounds)
        {
            carry.AddRange(block.AsSpan(start, end - start).ToArray());
            start = end;
            var input = carry.ToArray();
            status = decoder.Decode(input, end == block.Length, list, out var consumed);
            if (status == ParseStatus.Rejected)
            {
                break;
            }

            Assert.InRange(consumed, 0, input.Length);
            carry.RemoveRange(0, consumed);
        }

        return (status, Text(Fields(list)));
    }

    /// <summary>Fields as one comparable string.</summary>
    public static string Text(IEnumerable<(string Name, string Value)> fields) => string.Join("\n", fields.Select(f => $"{f.Name}: {f.Value}"));

    public static List<(string Name, string Value)> Fields(HeaderList list)
    {
        var fields = new List<(string, string)>();
        for (var i = 0; i < list.Count; i++)
        {
            fields.Add((Encoding.Latin1.GetString(list.Name(i)), Encoding.Latin1.GetString(list.Value(i))));
        }

        return fields;
    }

    public static List<(string Name, string Value)> Table(HpackDecoder decoder)
    {
        var entries = new List<(string, string)>();
        for (var i = 0; decoder.Table.TryGet(i, out var n, out var v); i++)
        {
            entries.Add((Encoding.Latin1.GetString(n), Encoding.Latin1.GetString(v)));
        }

        return entries;
    }
}
