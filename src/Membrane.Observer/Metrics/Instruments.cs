namespace Membrane.Observer.Metrics;

/// <summary>A monotonically increasing count (Prometheus counter). Increments are lock-free and allocate nothing.</summary>
public sealed class Counter
{
    private long _value;

    internal Counter()
    {
    }

    /// <summary>The current count.</summary>
    public long Value => Volatile.Read(ref _value);

    /// <summary>Adds one.</summary>
    public void Inc() => Interlocked.Increment(ref _value);

    /// <summary>Adds a non-negative amount.</summary>
    public void Add(long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Interlocked.Add(ref _value, amount);
    }
}

/// <summary>A value that goes up and down (Prometheus gauge). Updates are lock-free and allocate nothing.</summary>
public sealed class Gauge
{
    private long _bits;

    internal Gauge()
    {
    }

    /// <summary>The current value.</summary>
    public double Value => BitConverter.Int64BitsToDouble(Volatile.Read(ref _bits));

    /// <summary>Sets the value.</summary>
    public void Set(double value) => Interlocked.Exchange(ref _bits, BitConverter.DoubleToInt64Bits(value));

    /// <summary>Adds to the value (negative to subtract).</summary>
    public void Add(double delta) => AtomicDouble.Add(ref _bits, delta);

    /// <summary>Adds one.</summary>
    public void Inc() => Add(1);

    /// <summary>Subtracts one.</summary>
    public void Dec() => Add(-1);
}

/// <summary>
/// Counts observations in cumulative buckets (Prometheus histogram). <see cref="Observe"/> is lock-free and allocates
/// nothing; a scrape concurrent with observations may see a bucket count one ahead of the total, as in other clients.
/// </summary>
public sealed class Histogram
{
    private readonly double[] _upperBounds;
    private readonly long[] _counts;
    private long _sumBits;

    internal Histogram(double[] upperBounds)
    {
        _upperBounds = upperBounds;
        _counts = new long[upperBounds.Length + 1];
    }

    /// <summary>The bucket upper bounds (the implicit <c>+Inf</c> bucket is not listed).</summary>
    public IReadOnlyList<double> UpperBounds => _upperBounds;

    /// <summary>The sum of all observations.</summary>
    public double Sum => BitConverter.Int64BitsToDouble(Volatile.Read(ref _sumBits));

    /// <summary>The number of observations.</summary>
    public long Count
    {
        get
        {
            long total = 0;
            foreach (ref var c in _counts.AsSpan())
            {
                total += Volatile.Read(ref c);
            }

            return total;
        }
    }

    /// <summary>Records one observation.</summary>
    public void Observe(double value)
    {
        var bucket = _upperBounds.Length;
        for (var i = 0; i < _upperBounds.Length; i++)
        {
            if (value <= _upperBounds[i])
            {
                bucket = i;
                break;
            }
        }

        Interlocked.Increment(ref _counts[bucket]);
        AtomicDouble.Add(ref _sumBits, value);
    }

    /// <summary>Cumulative counts per bucket, the last one being <c>+Inf</c> (equal to <see cref="Count"/>).</summary>
    public long[] CumulativeCounts()
    {
        var result = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            result[i] = running;
        }

        return result;
    }
}

internal static class AtomicDouble
{
    public static void Add(ref long bits, double delta)
    {
        var current = Volatile.Read(ref bits);
        while (true)
        {
            var updated = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(current) + delta);
            var seen = Interlocked.CompareExchange(ref bits, updated, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
