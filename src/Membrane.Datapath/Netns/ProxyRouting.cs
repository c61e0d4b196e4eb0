namespace Membrane.Datapath.Netns;

/// <summary>
/// The node-namespace routing the L7 redirect needs (datapath-facts.md §4a): packets marked MARK_MAGIC_TO_PROXY
/// (0x200/0xf00) are looked up in table 2004, whose only route delivers everything locally, so a packet assigned to
/// the proxy's socket with bpf_sk_assign (or a reply to the proxy's transparent upstream socket) is received by the
/// node instead of being forwarded.
/// </summary>
internal static class ProxyRouting
{
    public const int Table = 2004;
    public const int RulePreference = 9000;

    /// <summary>Installs the rule and route in the namespace at <paramref name="namespacePath"/> (idempotent).</summary>
    public static void Ensure(string namespacePath)
    {
        var rules = Ip(namespacePath, "-4", "rule", "show", "pref", RulePreference.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!rules.Contains($"lookup {Table}", StringComparison.Ordinal))
        {
            Ip(namespacePath, "-4", "rule", "add", "fwmark", "0x200/0xf00", "lookup", Table.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "pref", RulePreference.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Ip(namespacePath, "-4", "route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", Table.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Ip(string namespacePath, params string[] args)
    {
        const string NamedPrefix = "/var/run/netns/";
        return namespacePath.StartsWith(NamedPrefix, StringComparison.Ordinal)
            ? IpCommand.IpIn(namespacePath[NamedPrefix.Length..], args)
            : IpCommand.Run("nsenter", [$"--net={namespacePath}", "ip", .. args]);
    }
}
