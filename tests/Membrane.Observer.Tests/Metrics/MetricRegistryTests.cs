using Membrane.Observer.Metrics;

namespace Membrane.Observer.Tests.Metrics;

public sealed class MetricRegistryTests
{
    [Fact]
    public void Counters_gauges_and_histograms_read_back_from_the_exposition()
    {
        var registry = new MetricRegistry();
        var requests = registry.Counter("app_requests_total", "Requests handled", "method", "code");
        requests.Labels("GET", "200").Add(3);
        requests.Labels("GET", "200").Inc();
        requests.Labels("POST", "500").Inc();
        registry.Gauge("app_temperature", "Temperature").Labels().Set(-1.5);
        var latency = registry.Histogram("app_latency_seconds", "Latency", [0.1, 1], "route");
        latency.Labels("/a").Observe(0.05);
        latency.Labels("/a").Observe(0.5);
        latency.Labels("/a").Observe(5);

        var text = registry.Export();
        var parsed = ExpositionParser.Parse(text);
        Assert.Equal("counter", parsed.Types["app_requests_total"]);
        Assert.Equal("gauge", parsed.Types["app_temperature"]);
        Assert.Equal("histogram", parsed.Types["app_latency_seconds"]);
        Assert.Equal("Requests handled", parsed.Help["app_requests_total"]);
        Assert.Equal(4, parsed.Value("app_requests_total", ("method", "GET"), ("code", "200")));
        Assert.Equal(1, parsed.Value("app_requests_total", ("method", "POST"), ("code", "500")));
        Assert.Equal(-1.5, parsed.Value("app_temperature"));
        Assert.Equal(1, parsed.Value("app_latency_seconds_bucket", ("route", "/a"), ("le", "0.1")));
        Assert.Equal(2, parsed.Value("app_latency_seconds_bucket", ("route", "/a"), ("le", "1")));
        Assert.Equal(3, parsed.Value("app_latency_seconds_bucket", ("route", "/a"), ("le", "+Inf")));
        Assert.Equal(3, parsed.Value("app_latency_seconds_count", ("route", "/a")));
        Assert.Equal(5.55, parsed.Value("app_latency_seconds_sum", ("route", "/a")), 9);
        Assert.Contains("app_requests_total{method=\"GET\",code=\"200\"} 4\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_values_and_help_are_escaped()
    {
        var registry = new MetricRegistry();
        registry.Counter("odd_total", "Help with \\ and\nnewline", "value").Labels("a\"b\\c\nd").Inc();
        var text = registry.Export();
        Assert.Contains("# HELP odd_total Help with \\\\ and\\nnewline\n", text, StringComparison.Ordinal);
        Assert.Contains("odd_total{value=\"a\\\"b\\\\c\\nd\"} 1\n", text, StringComparison.Ordinal);
        var parsed = ExpositionParser.Parse(text);
        Assert.Equal("Help with \\ and\nnewline", parsed.Help["odd_total"]);
        Assert.Equal(1, parsed.Value("odd_total", ("value", "a\"b\\c\nd")));
    }

    [Fact]
    public void Families_without_series_are_not_exported_and_series_are_sorted()
    {
        var registry = new MetricRegistry();
        registry.Counter("empty_total", "never used", "x");
        registry.Counter("zero_total", "no labels: exported before the first update");
        var f = registry.Counter("sorted_total", "sorted", "x");
        f.Labels("b").Inc();
        f.Labels("a").Inc();
        var text = registry.Export();
        Assert.DoesNotContain("empty_total", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE zero_total counter\nzero_total 0\n", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("x=\"a\"", StringComparison.Ordinal) < text.IndexOf("x=\"b\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1bad")]
    [InlineData("bad-name")]
    [InlineData("")]
    public void Invalid_metric_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => new MetricRegistry().Counter(name, "h"));

    [Fact]
    public void Invalid_labels_duplicates_and_misuse_are_rejected()
    {
        var registry = new MetricRegistry();
        Assert.Throws<ArgumentException>(() => registry.Counter("a_total", "h", "bad-label"));
        Assert.Throws<ArgumentException>(() => registry.Counter("b_total", "h", "__reserved"));
        Assert.Throws<ArgumentException>(() => registry.Counter("c_total", "h", "x", "x"));
        Assert.Throws<ArgumentException>(() => registry.Counter("d_total", "h", "a", "b", "c", "d", "e"));
        Assert.Throws<ArgumentException>(() => registry.Histogram("e_seconds", "h", [1], "le"));
        Assert.Throws<ArgumentException>(() => registry.Histogram("f_seconds", "h", [1, 1]));
        Assert.Throws<ArgumentException>(() => registry.Histogram("g_seconds", "h", [double.PositiveInfinity]));
        var family = registry.Counter("h_total", "h", "x");
        Assert.Throws<ArgumentException>(() => registry.Counter("h_total", "again"));
        Assert.Throws<ArgumentException>(() => family.Labels("a", "b"));
        Assert.Throws<ArgumentOutOfRangeException>(() => family.Labels("a").Add(-1));
    }

    [Fact]
    public void A_full_family_refuses_new_series_and_counts_them()
    {
        var registry = new MetricRegistry(maxSeriesPerFamily: 2);
        var methods = registry.Counter("http_total", "h", "method");
        methods.Labels("GET").Inc();
        methods.Labels("POST").Inc();
        methods.Labels("EVIL1").Inc();
        methods.Labels("EVIL2").Inc();
        methods.Labels("GET").Inc();
        var parsed = ExpositionParser.Parse(registry.Export());
        Assert.Equal(2, parsed.Value("http_total", ("method", "GET")));
        Assert.DoesNotContain(parsed.Samples, s => s.Labels.GetValueOrDefault("method") is "EVIL1" or "EVIL2");
        Assert.Equal(2, parsed.Value(MetricRegistry.SeriesDroppedMetric, ("metric", "http_total")));
    }

    [Fact]
    public async Task Concurrent_increments_are_exact()
    {
        var registry = new MetricRegistry();
        var counter = registry.Counter("c_total", "h", "x");
        var gauge = registry.Gauge("g", "h").Labels();
        var histogram = registry.Histogram("h_seconds", "h", [0.5]).Labels();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 100_000; i++)
            {
                counter.Labels("a").Inc();
                gauge.Add(1);
                histogram.Observe(1);
            }
        })));
        Assert.Equal(400_000, counter.Labels("a").Value);
        Assert.Equal(400_000, gauge.Value);
        Assert.Equal(400_000, histogram.Count);
        Assert.Equal(400_000, histogram.Sum);
    }

    [Fact]
    public void Known_label_sets_are_incremented_without_allocating()
    {
        var registry = new MetricRegistry();
        var counter = registry.Counter("c_total", "h", "a", "b", "c");
        var histogram = registry.Histogram("h_seconds", "h", [0.1, 1], "a");
        counter.Labels("x", "y", "z").Inc();
        histogram.Labels("x").Observe(0.2);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            counter.Labels("x", "y", "z").Inc();
            histogram.Labels("x").Observe(0.2);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Values_are_formatted_for_prometheus()
    {
        Assert.Equal("+Inf", PrometheusText.FormatValue(double.PositiveInfinity));
        Assert.Equal("-Inf", PrometheusText.FormatValue(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusText.FormatValue(double.NaN));
        Assert.Equal("0.1", PrometheusText.FormatValue(0.1));
        Assert.Equal("0.25", PrometheusText.FormatValue(0.25));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusText.ContentType);
    }
}
