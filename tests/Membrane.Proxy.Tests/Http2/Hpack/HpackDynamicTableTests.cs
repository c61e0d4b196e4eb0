using System.Text;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Tests.Http2.Hpack;

public sealed class HpackDynamicTableTests
{
    [Theory]
    [InlineData(4096, 1)]
    [InlineData(256, 2)]
    [InlineData(100, 3)]
    [InlineData(64, 4)]
    public void BehavesLikeTheRfcListModelUnderRandomInsertsAndSizeUpdates(int limit, int seed)
    {
        // The model: RFC 7541 §4 literally, a list with the newest first.
        var model = new List<(string Name, string Value)>();
        var maxSize = limit;
        var table = new HpackDynamicTable(limit);
        var random = new Random(seed);
        for (var step = 0; step < 20_000; step++)
        {
            if (random.Next(50) == 0)
            {
                maxSize = random.Next(limit + 1);
                Assert.True(table.SetMaxSize(maxSize));
                Evict(maxSize);
            }
            else
            {
                // Mostly small entries, sometimes ones near or above the size limit.
                var total = random.Next(8) == 0 ? random.Next(limit + 8) : random.Next(40);
                var nameLength = random.Next(total + 1);
                var name = new string((char)('a' + random.Next(26)), nameLength);
                var value = new string((char)('A' + random.Next(26)), total - nameLength) + step;
                table.Add(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value));
                var size = name.Length + value.Length + 32;
                if (size > maxSize)
                {
                    model.Clear();
                }
                else
                {
                    Evict(maxSize - size);
                    model.Insert(0, (name, value));
                }
            }

            Assert.Equal(model.Count, table.Count);
            Assert.Equal(model.Sum(e => e.Name.Length + e.Value.Length + 32), table.Size);
            for (var i = 0; i < model.Count; i++)
            {
                Assert.True(table.TryGet(i, out var n, out var v));
                Assert.Equal(model[i].Name, Encoding.ASCII.GetString(n));
                Assert.Equal(model[i].Value, Encoding.ASCII.GetString(v));
            }

            Assert.False(table.TryGet(model.Count, out _, out _));
        }

        void Evict(int until)
        {
            while (model.Count > 0 && model.Sum(e => e.Name.Length + e.Value.Length + 32) > until)
            {
                model.RemoveAt(model.Count - 1);
            }
        }
    }

    [Fact]
    public void RefusesASizeAboveTheLimit()
    {
        var table = new HpackDynamicTable(4096);
        Assert.False(table.SetMaxSize(4097));
        Assert.True(table.SetMaxSize(0));
    }
}
