using Membrane.Observer.Flows;
using Membrane.Observer.Printers;

namespace Membrane.Observer.Tests.Printers;

public sealed class PrinterGoldenTests
{
    private static string Print(OutputFormat format, PrinterOptions? options = null)
    {
        var output = new StringWriter { NewLine = "\n" };
        var printer = FlowPrinters.Create(format, output, options);
        foreach (var response in FlowSamples.All)
        {
            printer.Write(response);
        }

        printer.Flush();
        return output.ToString();
    }

    private static string Monitor(MonitorOutputFormat format, MonitorEventKinds kinds = MonitorEventKinds.All, bool policies = false)
    {
        var output = new StringWriter { NewLine = "\n" };
        var printer = new MonitorPrinter(output, format, kinds, printPolicyNames: policies);
        foreach (var response in FlowSamples.All)
        {
            printer.Write(response);
        }

        return output.ToString();
    }

    [Fact]
    public void Compact() => GoldenFile.AssertMatches("compact.txt", Print(OutputFormat.Compact));

    [Fact]
    public void Compact_with_node_and_policy_names() =>
        GoldenFile.AssertMatches("compact-node-policies.txt", Print(OutputFormat.Compact, new PrinterOptions { PrintNodeName = true, PrintPolicyNames = true }));

    [Fact]
    public void Table() => GoldenFile.AssertMatches("table.txt", Print(OutputFormat.Table));

    [Fact]
    public void Table_with_node_and_policy_names() =>
        GoldenFile.AssertMatches("table-node-policies.txt", Print(OutputFormat.Table, new PrinterOptions { PrintNodeName = true, PrintPolicyNames = true }));

    [Fact]
    public void Dict() => GoldenFile.AssertMatches("dict.txt", Print(OutputFormat.Dict, new PrinterOptions { PrintPolicyNames = true }));

    [Fact]
    public void Json() => GoldenFile.AssertMatches("json.txt", Print(OutputFormat.Json));

    [Fact]
    public void Compact_with_rfc3339_times_in_another_zone() =>
        GoldenFile.AssertMatches("compact-rfc3339.txt", Print(OutputFormat.Compact, new PrinterOptions
        {
            TimeFormat = "RFC3339Nano",
            TimeZone = TimeZoneInfo.CreateCustomTimeZone("UTC+02", TimeSpan.FromHours(2), "UTC+02", "UTC+02"),
            IPTranslation = false,
        }));

    [Fact]
    public void Monitor_text() => GoldenFile.AssertMatches("monitor.txt", Monitor(MonitorOutputFormat.Text));

    [Fact]
    public void Monitor_drops_with_policy_names() =>
        GoldenFile.AssertMatches("monitor-drop.txt", Monitor(MonitorOutputFormat.Text, MonitorEventKinds.Drop, policies: true));

    [Fact]
    public void Monitor_json() => GoldenFile.AssertMatches("monitor-json.txt", Monitor(MonitorOutputFormat.Json));

    [Fact]
    public void The_seed_table_line_reads_as_in_the_article()
    {
        var output = new StringWriter { NewLine = "\n" };
        var printer = FlowPrinters.Create(OutputFormat.Table, output);
        printer.Write(new FlowResponse(FlowSamples.DeniedDelete));
        printer.Flush();
        var lines = output.ToString().Split('\n');
        Assert.Equal(["TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(
            @"^Jan 12 10:30:01\.123 +default/frontend-xyz-1:49876 +default/user-service-abc-2:80 +L7_REQUEST +DROPPED +HTTP/1\.1 DELETE http://user-service/api/v1/users/123 \(Policy denied\)$",
            lines[1]);
    }

    [Fact]
    public void The_seed_monitor_drop_line_names_reason_identities_and_the_l7_request()
    {
        var output = new StringWriter { NewLine = "\n" };
        new MonitorPrinter(output, kinds: MonitorEventKinds.Drop).Write(new FlowResponse(FlowSamples.DeniedDelete with
        {
            Source = new FlowEndpoint { Identity = 2 },
        }));
        Assert.Matches(@"^xx drop \(Policy denied\) flow 0x0 to endpoint 1121, identity world->4321: 10\.0\.1\.12:49876 -> 10\.0\.1\.55:80 tcp HTTP/1\.1 DELETE /api/v1/users/123\n$", output.ToString());
    }

    [Fact]
    public void Printers_never_pass_control_characters_through()
    {
        foreach (var format in Enum.GetValues<OutputFormat>())
        {
            var text = Print(format);
            Assert.DoesNotContain('\u001b', text);
            Assert.DoesNotContain('\u0007', text);
        }

        Assert.DoesNotContain('\u001b', Monitor(MonitorOutputFormat.Text));
        Assert.DoesNotContain('\u001b', Monitor(MonitorOutputFormat.Json));
    }

    [Fact]
    public void Monitor_type_selects_kinds_and_a_denied_request_is_both_a_drop_and_l7()
    {
        Assert.Equal(MonitorEventKinds.L7 | MonitorEventKinds.Drop, MonitorPrinter.KindsOf(FlowSamples.DeniedDelete));
        Assert.Equal(MonitorEventKinds.L7, MonitorPrinter.KindsOf(FlowSamples.AllowedGet));
        Assert.Equal(MonitorEventKinds.Drop, MonitorPrinter.KindsOf(FlowSamples.WorldDropped));
        Assert.Equal(MonitorEventKinds.PolicyVerdict, MonitorPrinter.KindsOf(FlowSamples.PolicyVerdictAllowed));
        Assert.Equal(MonitorEventKinds.Trace, MonitorPrinter.KindsOf(FlowSamples.TraceReply));

        var l7Only = Monitor(MonitorOutputFormat.Text, MonitorEventKinds.L7);
        Assert.DoesNotContain("xx drop", l7Only);
        Assert.Contains("verdict Denied DELETE", l7Only);
        Assert.All(Monitor(MonitorOutputFormat.Text, MonitorEventKinds.Trace).Split('\n', StringSplitOptions.RemoveEmptyEntries),
            line => Assert.True(line.StartsWith("-> ", StringComparison.Ordinal) || line.StartsWith("<- ", StringComparison.Ordinal) || line.StartsWith("Lost ", StringComparison.Ordinal), line));
    }

    [Fact]
    public void Unknown_time_format_is_rejected() =>
        Assert.Throws<ArgumentException>(() => FlowPrinters.Create(OutputFormat.Compact, TextWriter.Null, new PrinterOptions { TimeFormat = "Kitchen" }));
}
