namespace Membrane.Observer.Printers;

/// <summary>The flow output formats of <c>membrane observe -o</c>.</summary>
public enum OutputFormat
{
    /// <summary>One line per flow, Hubble's compact layout (the default).</summary>
    Compact,

    /// <summary>Aligned columns TIMESTAMP SOURCE DESTINATION TYPE VERDICT SUMMARY.</summary>
    Table,

    /// <summary>One JSON object per line, Hubble's <c>GetFlowsResponse</c> (<c>-o json</c> and <c>-o jsonpb</c>).</summary>
    Json,

    /// <summary>One <c>KEY: value</c> block per flow, separated by <c>------------</c>.</summary>
    Dict,
}

/// <summary>Options shared by the flow printers (Hubble's <c>--time-format</c>, <c>--print-node-name</c>, ...).</summary>
public sealed class PrinterOptions
{
    /// <summary>
    /// Timestamp layout by Go name: <c>StampMilli</c> (default, <c>Jan 12 10:30:01.123</c>), <c>Stamp</c>,
    /// <c>StampMicro</c>, <c>StampNano</c>, <c>RFC3339</c>, <c>RFC3339Milli</c>, <c>RFC3339Micro</c>, <c>RFC3339Nano</c>.
    /// </summary>
    public string TimeFormat { get; init; } = "StampMilli";

    /// <summary>Time zone of printed timestamps; UTC by default (as Hubble prints protobuf timestamps).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>Print the node name (compact: <c>[node]</c> after the time; table and dict: a NODE column).</summary>
    public bool PrintNodeName { get; init; }

    /// <summary>Print the policies that allowed or denied each flow (<c>INGRESS DENIED BY default/users (CiliumNetworkPolicy, default deny)</c>).</summary>
    public bool PrintPolicyNames { get; init; }

    /// <summary>Show pods, services and DNS names instead of IP addresses (Hubble's <c>--ip-translation</c>, on by default).</summary>
    public bool IPTranslation { get; init; } = true;

    /// <summary>Parses a format name: <c>compact</c>, <c>table</c>, <c>json</c>, <c>jsonpb</c>, <c>dict</c>.</summary>
    public static bool TryParseFormat(string name, out OutputFormat format)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.ToLowerInvariant())
        {
            case "compact":
                format = OutputFormat.Compact;
                return true;
            case "table":
                format = OutputFormat.Table;
                return true;
            case "json" or "jsonpb":
                format = OutputFormat.Json;
                return true;
            case "dict":
                format = OutputFormat.Dict;
                return true;
            default:
                format = OutputFormat.Compact;
                return false;
        }
    }

    /// <summary>True for the time format names <see cref="TimeFormat"/> accepts.</summary>
    public static bool IsKnownTimeFormat(string name) => name is "StampMilli" or "Stamp" or "StampMicro" or "StampNano"
        or "RFC3339" or "RFC3339Milli" or "RFC3339Micro" or "RFC3339Nano";
}
