namespace Membrane.Fuzz;

/// <summary>
/// A bounded, seeded mutation loop over a corpus without AFL (no coverage feedback): the quick check that runs with
/// the test suite. Mutations: bit flips, byte sets to interesting values, insertions, deletions, splices.
/// </summary>
public static class Smoke
{
    private static readonly byte[] Interesting = "\r\n\0 \t:;%/.?#0123456789abcdefABCDEF\x7f\xff"u8.ToArray();

    /// <summary>Runs <paramref name="iterations"/> mutated inputs; returns a description of the first failure, or null.</summary>
    public static string? Run(IFuzzTarget target, int iterations, int seed, string corpus)
    {
        var seeds = Directory.Exists(corpus)
            ? Directory.EnumerateFiles(corpus).Where(f => !f.EndsWith("README.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList()
            : [];
        if (seeds.Count == 0)
        {
            seeds.Add([]);
        }

        var random = new Random(seed);
        for (var i = 0; i < iterations; i++)
        {
            var input = Mutate(seeds[random.Next(seeds.Count)], seeds[random.Next(seeds.Count)], random);
            try
            {
                target.Run(input);
            }
            catch (Exception e)
            {
                return $"{target.Name}: input {Convert.ToHexString(input)} failed: {e}";
            }
        }

        return null;
    }

    private static byte[] Mutate(byte[] a, byte[] b, Random random)
    {
        var data = new List<byte>(a);
        var count = 1 + random.Next(8);
        for (var m = 0; m < count; m++)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    data.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 3 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(4)));
                    break;
                case 4 when b.Length > 0:
                    var from = random.Next(b.Length);
                    data.InsertRange(at, b.AsSpan(from, Math.Min(b.Length - from, 1 + random.Next(16))).ToArray());
                    break;
                default:
                    data.Insert(at, (byte)random.Next(256));
                    break;
            }
        }

        return [.. data];
    }
}
