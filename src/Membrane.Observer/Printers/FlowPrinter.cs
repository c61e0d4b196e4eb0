using Membrane.Observer.Flows;

namespace Membrane.Observer.Printers;

/// <summary>Writes a stream of <see cref="FlowResponse"/>s in one output format to a <see cref="TextWriter"/>.</summary>
public interface IFlowPrinter
{
    /// <summary>Writes one flow or lost-events notification.</summary>
    void Write(in FlowResponse response);

    /// <summary>Writes out anything buffered (the table format aligns columns over the rows written since the last flush).</summary>
    void Flush();
}

/// <summary>Creates flow printers.</summary>
public static class FlowPrinters
{
    /// <summary>A printer for <paramref name="format"/> writing to <paramref name="output"/>.</summary>
    public static IFlowPrinter Create(OutputFormat format, TextWriter output, PrinterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        options ??= new PrinterOptions();
        if (!PrinterOptions.IsKnownTimeFormat(options.TimeFormat))
        {
            throw new ArgumentException($"unknown time format \"{options.TimeFormat}\"", nameof(options));
        }

        return format switch
        {
            OutputFormat.Compact => new CompactPrinter(output, options),
            OutputFormat.Table => new TablePrinter(output, options),
            OutputFormat.Json => new JsonPrinter(output),
            OutputFormat.Dict => new DictPrinter(output, options),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown output format"),
        };
    }
}

/// <summary>
/// Hubble's compact line: <c>Jan 12 10:30:01.123: default/frontend-1:49876 (ID:1234) -> default/users-2:80 (ID:4321)
/// http-request DROPPED (HTTP/1.1 DELETE http://users/api/v1/users/123)</c>; the arrow is <c>&lt;-</c> for replies
/// (source and destination swapped) and <c>&lt;&gt;</c> when the direction is unknown.
/// </summary>
internal sealed class CompactPrinter(TextWriter output, PrinterOptions options) : IFlowPrinter
{
    public void Write(in FlowResponse response)
    {
        if (response.Kind == FlowResponseKind.LostEvents)
        {
            output.Write(FlowFormat.Sanitize(
                $"EVENTS LOST: {HubbleNames.Of(response.Lost.Source)} CPU({response.Lost.Cpu ?? 0}) {response.Lost.NumEventsLost}"));
            output.Write('\n');
            return;
        }

        var flow = response.Flow;
        var (src, dst) = FlowFormat.Hosts(flow, options);
        var srcId = FlowFormat.IdentityTag(flow.Source.Identity);
        var dstId = FlowFormat.IdentityTag(flow.Destination.Identity);
        var arrow = "->";
        if (flow.IsReply is null)
        {
            arrow = "<>";
        }
        else if (flow.IsReply.Value)
        {
            (src, dst) = (dst, src);
            (srcId, dstId) = (dstId, srcId);
            arrow = "<-";
        }

        var node = options.PrintNodeName ? $" [{flow.NodeName}]" : "";
        var line = $"{FlowFormat.Timestamp(flow.TimeUnixNanos, options)}{node}: {src} {srcId} {arrow} {dst} {dstId} "
            + $"{FlowFormat.FlowTypeText(flow)} {FlowFormat.VerdictText(flow)} ({FlowFormat.SummaryText(flow)})";
        if (options.PrintPolicyNames && FlowFormat.PolicyNames(flow) is { Length: > 0 } policies)
        {
            line += " " + policies;
        }

        output.Write(FlowFormat.Sanitize(line));
        output.Write('\n');
    }

    public void Flush() => output.Flush();
}

/// <summary>
/// Aligned columns <c>TIMESTAMP [NODE] SOURCE DESTINATION TYPE VERDICT SUMMARY [POLICIES]</c> as in the seed:
/// <c>L7_REQUEST</c>/<c>L7_RESPONSE</c> types and <c>(Policy denied)</c> after the summary of dropped L7 flows.
/// Columns are padded like Go's tabwriter (width of the widest cell plus 3); widths only grow, so rows flushed
/// later (follow mode) stay aligned with earlier ones whenever they fit.
/// </summary>
internal sealed class TablePrinter(TextWriter output, PrinterOptions options) : IFlowPrinter
{
    private const int Padding = 3;
    private readonly List<string[]> _rows = [];
    private int[] _widths = [];
    private bool _headerWritten;

    public void Write(in FlowResponse response)
    {
        if (!_headerWritten)
        {
            _rows.Add(Cells("TIMESTAMP", "NODE", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY", "POLICIES"));
            _headerWritten = true;
        }

        if (response.Kind == FlowResponseKind.LostEvents)
        {
            var lost = response.Lost;
            _rows.Add(Cells("", "", HubbleNames.Of(lost.Source) ?? "", "", "EVENTS LOST", "", $"CPU({lost.Cpu ?? 0}) - {lost.NumEventsLost}", ""));
            return;
        }

        var flow = response.Flow;
        var (src, dst) = FlowFormat.Hosts(flow, options);
        _rows.Add(Cells(
            FlowFormat.Timestamp(flow.TimeUnixNanos, options),
            flow.NodeName ?? "",
            src,
            dst,
            FlowFormat.TableTypeText(flow),
            FlowFormat.VerdictText(flow),
            FlowFormat.TableSummaryText(flow),
            FlowFormat.PolicyNames(flow)));
    }

    public void Flush()
    {
        if (_rows.Count == 0)
        {
            output.Flush();
            return;
        }

        var columns = _rows[0].Length;
        if (_widths.Length != columns)
        {
            _widths = new int[columns];
        }

        foreach (var row in _rows)
        {
            for (var c = 0; c < columns - 1; c++)
            {
                _widths[c] = Math.Max(_widths[c], Math.Max(row[c].Length + Padding, 2));
            }
        }

        foreach (var row in _rows)
        {
            var sb = new System.Text.StringBuilder();
            for (var c = 0; c < columns; c++)
            {
                sb.Append(row[c]);
                if (c < columns - 1)
                {
                    sb.Append(' ', _widths[c] - row[c].Length);
                }
            }

            output.Write(sb.ToString().TrimEnd());
            output.Write('\n');
        }

        _rows.Clear();
        output.Flush();
    }

    private string[] Cells(string time, string node, string src, string dst, string type, string verdict, string summary, string policies)
    {
        var cells = new List<string> { time };
        if (options.PrintNodeName)
        {
            cells.Add(node);
        }

        cells.AddRange([src, dst, type, verdict, summary]);
        if (options.PrintPolicyNames)
        {
            cells.Add(policies);
        }

        return [.. cells.Select(FlowFormat.Sanitize)];
    }
}

/// <summary>Hubble's dict format: right-aligned keys, one flow per block, blocks separated by <c>------------</c>.</summary>
internal sealed class DictPrinter(TextWriter output, PrinterOptions options) : IFlowPrinter
{
    private const string Separator = "------------";
    private bool _first = true;

    public void Write(in FlowResponse response)
    {
        if (!_first)
        {
            output.Write(Separator + "\n");
        }

        _first = false;
        if (response.Kind == FlowResponseKind.LostEvents)
        {
            var lost = response.Lost;
            Line("  TIMESTAMP", "");
            if (options.PrintNodeName)
            {
                Line("       NODE", "");
            }

            Line("     SOURCE", HubbleNames.Of(lost.Source) ?? "");
            Line("       TYPE", "EVENTS LOST");
            Line("    VERDICT", "");
            Line("    SUMMARY", $"CPU({lost.Cpu ?? 0}) - {lost.NumEventsLost}");
            return;
        }

        var flow = response.Flow;
        var (src, dst) = FlowFormat.Hosts(flow, options);
        Line("  TIMESTAMP", FlowFormat.Timestamp(flow.TimeUnixNanos, options));
        if (options.PrintNodeName)
        {
            Line("       NODE", flow.NodeName ?? "");
        }

        Line("     SOURCE", src);
        Line("DESTINATION", dst);
        Line("       TYPE", FlowFormat.FlowTypeText(flow));
        Line("    VERDICT", FlowFormat.VerdictText(flow));
        Line("    SUMMARY", FlowFormat.SummaryText(flow));
        if (options.PrintPolicyNames && FlowFormat.PolicyNames(flow) is { Length: > 0 } policies)
        {
            Line("   POLICIES", policies);
        }
    }

    public void Flush() => output.Flush();

    private void Line(string key, string value)
    {
        output.Write(FlowFormat.Sanitize($"{key}: {value}"));
        output.Write('\n');
    }
}

/// <summary>One Hubble <c>GetFlowsResponse</c> JSON object per line (see <see cref="HubbleJson"/>).</summary>
internal sealed class JsonPrinter(TextWriter output) : IFlowPrinter
{
    public void Write(in FlowResponse response)
    {
        output.Write(HubbleJson.Serialize(response));
        output.Write('\n');
    }

    public void Flush() => output.Flush();
}
