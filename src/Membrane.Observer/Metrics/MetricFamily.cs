using System.Collections.Concurrent;
using System.Globalization;

namespace Membrane.Observer.Metrics;

/// <summary>The Prometheus type of a metric family.</summary>
public enum MetricType
{
    /// <summary><c>counter</c>.</summary>
    Counter,

    /// <summary><c>gauge</c>.</summary>
    Gauge,

    /// <summary><c>histogram</c>.</summary>
    Histogram,
}

/// <summary>
/// A metric name with its help text and label names, and one child instrument per label value set. Looking up a
/// child whose label values were seen before is lock-free and allocates nothing; callers on hot paths may also keep
/// the child. A family holds at most <see cref="MetricRegistry.MaxSeriesPerFamily"/> label sets: beyond that, new label
/// sets get a detached instrument that is not exported, and the registry counts them in
/// <c>membrane_metrics_series_dropped_total{metric}</c> (a guard against label values from traffic).
/// </summary>
/// <typeparam name="TChild">The instrument type.</typeparam>
public abstract class MetricFamily<TChild> : IMetricFamily
    where TChild : class
{
    /// <summary>Most label names a family may have.</summary>
    public const int MaxLabels = 4;

    private readonly ConcurrentDictionary<LabelValues, TChild> _children = new();
    private readonly MetricRegistry _registry;
    private readonly string[] _labelNames;

    private protected MetricFamily(MetricRegistry registry, string name, string help, MetricType type, string[] labelNames)
    {
        _registry = registry;
        Name = name;
        Help = help;
        Type = type;
        _labelNames = labelNames;
    }

    /// <summary>The metric name.</summary>
    public string Name { get; }

    /// <summary>The help text.</summary>
    public string Help { get; }

    /// <summary>The Prometheus type.</summary>
    public MetricType Type { get; }

    /// <summary>The label names, in exposition order.</summary>
    public IReadOnlyList<string> LabelNames => _labelNames;

    /// <summary>The instrument of a family without labels.</summary>
    public TChild Labels() => Get(new LabelValues(0, null, null, null, null));

    /// <summary>The instrument for one label value.</summary>
    public TChild Labels(string v1) => Get(new LabelValues(1, v1, null, null, null));

    /// <summary>The instrument for two label values.</summary>
    public TChild Labels(string v1, string v2) => Get(new LabelValues(2, v1, v2, null, null));

    /// <summary>The instrument for three label values.</summary>
    public TChild Labels(string v1, string v2, string v3) => Get(new LabelValues(3, v1, v2, v3, null));

    /// <summary>The instrument for four label values.</summary>
    public TChild Labels(string v1, string v2, string v3, string v4) => Get(new LabelValues(4, v1, v2, v3, v4));

    void IMetricFamily.WriteTo(TextWriter output)
    {
        if (_labelNames.Length == 0)
        {
            // A family without labels always has its one series, exported as 0 before its first update.
            Labels();
        }

        if (_children.IsEmpty)
        {
            return;
        }

        output.Write($"# HELP {Name} {PrometheusText.EscapeHelp(Help)}\n");
        output.Write($"# TYPE {Name} {Type.ToString().ToLowerInvariant()}\n");
        foreach (var (values, child) in _children.OrderBy(kv => kv.Key, LabelValues.Comparer))
        {
            WriteChild(output, values, child);
        }
    }

    private protected abstract TChild Create();

    private protected abstract void WriteChild(TextWriter output, LabelValues values, TChild child);

    private protected string LabelText(LabelValues values, string? extraName = null, string? extraValue = null)
    {
        if (_labelNames.Length == 0 && extraName is null)
        {
            return "";
        }

        var parts = new List<string>(_labelNames.Length + 1);
        for (var i = 0; i < _labelNames.Length; i++)
        {
            parts.Add($"{_labelNames[i]}=\"{PrometheusText.EscapeLabelValue(values[i])}\"");
        }

        if (extraName is not null)
        {
            parts.Add($"{extraName}=\"{PrometheusText.EscapeLabelValue(extraValue ?? "")}\"");
        }

        return "{" + string.Join(',', parts) + "}";
    }

    private TChild Get(LabelValues values)
    {
        if (values.Count != _labelNames.Length)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"{Name} has {_labelNames.Length} labels ({string.Join(", ", _labelNames)}), got {values.Count} values"));
        }

        if (_children.TryGetValue(values, out var child))
        {
            return child;
        }

        if (_children.Count >= _registry.MaxSeriesPerFamily)
        {
            _registry.SeriesDropped(Name);
            return Create();
        }

        return _children.GetOrAdd(values, _ => Create());
    }
}

/// <summary>Counters sharing a name and label names.</summary>
public sealed class CounterFamily : MetricFamily<Counter>
{
    internal CounterFamily(MetricRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, MetricType.Counter, labelNames)
    {
    }

    private protected override Counter Create() => new();

    private protected override void WriteChild(TextWriter output, LabelValues values, Counter child) =>
        output.Write(string.Create(CultureInfo.InvariantCulture, $"{Name}{LabelText(values)} {child.Value}\n"));
}

/// <summary>Gauges sharing a name and label names.</summary>
public sealed class GaugeFamily : MetricFamily<Gauge>
{
    internal GaugeFamily(MetricRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, MetricType.Gauge, labelNames)
    {
    }

    private protected override Gauge Create() => new();

    private protected override void WriteChild(TextWriter output, LabelValues values, Gauge child) =>
        output.Write($"{Name}{LabelText(values)} {PrometheusText.FormatValue(child.Value)}\n");
}

/// <summary>Histograms sharing a name, label names and buckets.</summary>
public sealed class HistogramFamily : MetricFamily<Histogram>
{
    private readonly double[] _buckets;

    internal HistogramFamily(MetricRegistry registry, string name, string help, double[] buckets, string[] labelNames)
        : base(registry, name, help, MetricType.Histogram, labelNames)
    {
        _buckets = buckets;
    }

    /// <summary>The bucket upper bounds.</summary>
    public IReadOnlyList<double> Buckets => _buckets;

    private protected override Histogram Create() => new(_buckets);

    private protected override void WriteChild(TextWriter output, LabelValues values, Histogram child)
    {
        var cumulative = child.CumulativeCounts();
        for (var i = 0; i < _buckets.Length; i++)
        {
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"{Name}_bucket{LabelText(values, "le", PrometheusText.FormatValue(_buckets[i]))} {cumulative[i]}\n"));
        }

        output.Write(string.Create(CultureInfo.InvariantCulture, $"{Name}_bucket{LabelText(values, "le", "+Inf")} {cumulative[^1]}\n"));
        output.Write($"{Name}_sum{LabelText(values)} {PrometheusText.FormatValue(child.Sum)}\n");
        output.Write(string.Create(CultureInfo.InvariantCulture, $"{Name}_count{LabelText(values)} {cumulative[^1]}\n"));
    }
}

/// <summary>A metric family the registry can export.</summary>
internal interface IMetricFamily
{
    string Name { get; }

    void WriteTo(TextWriter output);
}

/// <summary>Up to four label values, compared by value; the key of a family's children.</summary>
internal readonly record struct LabelValues(int Count, string? V1, string? V2, string? V3, string? V4)
{
    public static IComparer<LabelValues> Comparer { get; } = Comparer<LabelValues>.Create((a, b) =>
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var c = string.CompareOrdinal(a[i], b[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Count.CompareTo(b.Count);
    });

    public string this[int index] => (index switch
    {
        0 => V1,
        1 => V2,
        2 => V3,
        3 => V4,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    }) ?? "";
}
