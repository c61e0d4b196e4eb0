using System.Text;
using System.Text.RegularExpressions;

namespace Membrane.Observer.Metrics;

/// <summary>
/// A set of metric families exported in the Prometheus text format 0.0.4 (what the agent serves on
/// <c>127.0.0.1:9962/metrics</c>). Registration validates names and rejects duplicates; instruments are lock-free.
/// </summary>
public sealed partial class MetricRegistry
{
    /// <summary>The metric that counts label sets refused because a family was full.</summary>
    public const string SeriesDroppedMetric = "membrane_metrics_series_dropped_total";

    private readonly List<IMetricFamily> _families = [];
    private readonly Lock _lock = new();
    private readonly CounterFamily _seriesDropped;

    /// <summary>Creates a registry.</summary>
    /// <param name="maxSeriesPerFamily">Most label sets one family exports (protects against unbounded label values).</param>
    public MetricRegistry(int maxSeriesPerFamily = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeriesPerFamily, 1);
        MaxSeriesPerFamily = maxSeriesPerFamily;
        _seriesDropped = Counter(SeriesDroppedMetric, "Label sets not exported because the metric already had the maximum number of series", "metric");
    }

    /// <summary>Most label sets one family exports.</summary>
    public int MaxSeriesPerFamily { get; }

    /// <summary>Registers a counter family.</summary>
    public CounterFamily Counter(string name, string help, params string[] labelNames) =>
        Register(new CounterFamily(this, Validate(name, labelNames, histogram: false), help, labelNames));

    /// <summary>Registers a gauge family.</summary>
    public GaugeFamily Gauge(string name, string help, params string[] labelNames) =>
        Register(new GaugeFamily(this, Validate(name, labelNames, histogram: false), help, labelNames));

    /// <summary>Registers a histogram family with the given bucket upper bounds (strictly increasing, finite).</summary>
    public HistogramFamily Histogram(string name, string help, double[] buckets, params string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        if (buckets.Length == 0 || buckets.Any(b => !double.IsFinite(b)) || buckets.Zip(buckets.Skip(1)).Any(p => p.First >= p.Second))
        {
            throw new ArgumentException($"{name}: buckets must be finite and strictly increasing", nameof(buckets));
        }

        return Register(new HistogramFamily(this, Validate(name, labelNames, histogram: true), help, [.. buckets], labelNames));
    }

    /// <summary>Writes every family with at least one series, in registration order.</summary>
    public void WriteTo(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        IMetricFamily[] families;
        lock (_lock)
        {
            families = [.. _families];
        }

        foreach (var family in families)
        {
            family.WriteTo(output);
        }
    }

    /// <summary>The whole exposition as a string.</summary>
    public string Export()
    {
        var sb = new StringBuilder();
        using (var writer = new StringWriter(sb, System.Globalization.CultureInfo.InvariantCulture))
        {
            WriteTo(writer);
        }

        return sb.ToString();
    }

    internal void SeriesDropped(string metric) => _seriesDropped.Labels(metric).Inc();

    private T Register<T>(T family)
        where T : IMetricFamily
    {
        lock (_lock)
        {
            if (_families.Any(f => f.Name == family.Name))
            {
                throw new ArgumentException($"metric {family.Name} is already registered");
            }

            _families.Add(family);
        }

        return family;
    }

    private static string Validate(string name, string[] labelNames, bool histogram)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(labelNames);
        if (!MetricName().IsMatch(name))
        {
            throw new ArgumentException($"invalid metric name \"{name}\"", nameof(name));
        }

        if (labelNames.Length > MetricFamily<Counter>.MaxLabels)
        {
            throw new ArgumentException($"{name}: at most {MetricFamily<Counter>.MaxLabels} labels", nameof(labelNames));
        }

        foreach (var label in labelNames)
        {
            if (label is null || !LabelName().IsMatch(label) || label.StartsWith("__", StringComparison.Ordinal) || (histogram && label == "le"))
            {
                throw new ArgumentException($"{name}: invalid label name \"{label}\"", nameof(labelNames));
            }
        }

        if (labelNames.Distinct(StringComparer.Ordinal).Count() != labelNames.Length)
        {
            throw new ArgumentException($"{name}: duplicate label names", nameof(labelNames));
        }

        return name;
    }

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
