using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Membrane.Policy.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Membrane.Agent.Lab;

/// <summary>A problem in a topology file, printed as <c>file:line:column: field.path: message</c>.</summary>
/// <param name="File">The file as the user named it.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="FieldPath">Path of the field, e.g. <c>namespaces[0].pods[2].server</c>.</param>
/// <param name="Message">What is wrong.</param>
public sealed record TopologyError(string File, int Line, int Column, string FieldPath, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        FieldPath.Length == 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}:{Line}:{Column}: {FieldPath}: {Message}";
}

/// <summary>Thrown when a topology file is invalid; carries every error found.</summary>
public sealed class TopologyException(IReadOnlyList<TopologyError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    /// <summary>Every error, in file order.</summary>
    public IReadOnlyList<TopologyError> Errors { get; } = errors;
}

/// <summary>Reads and validates a lab topology file (format: docs/lab.md). Reports every error with its location.</summary>
public static partial class LabTopologyParser
{
    private static readonly string[] TopKeys = ["name", "podCIDR", "namespaces"];
    private static readonly string[] NamespaceKeys = ["name", "labels", "pods"];
    private static readonly string[] PodKeys = ["name", "labels", "aliases", "server", "port", "ip"];

    /// <summary>Parses the file at <paramref name="path"/>; throws <see cref="TopologyException"/> listing every problem.</summary>
    public static LabTopology ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TopologyException([new TopologyError(path, 0, 0, "", $"cannot read topology file: {e.Message}")]);
        }

        return Parse(text, path);
    }

    /// <summary>Parses topology text; <paramref name="fileName"/> is used in error messages.</summary>
    public static LabTopology Parse(string text, string fileName)
    {
        var errors = new List<TopologyError>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new TopologyException([new TopologyError(fileName, (int)e.Start.Line, (int)e.Start.Column, "", $"invalid YAML: {e.InnerException?.Message ?? e.Message}")]);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new TopologyException([new TopologyError(fileName, 1, 1, "", "a topology file holds exactly one YAML mapping")]);
        }

        var ctx = new Context(fileName, errors);
        ctx.CheckKeys(root, "", TopKeys);
        var name = ctx.RequiredString(root, "name", "") ?? "lab";
        if (!DnsLabel().IsMatch(name) || name.Length > 12)
        {
            ctx.Error(ctx.ValueNode(root, "name") ?? root, "name", $"invalid lab name \"{name}\": use 1–12 lowercase letters, digits or '-' (it prefixes namespace and interface names)");
        }

        var cidrText = ctx.OptionalString(root, "podCIDR", "") ?? "10.244.1.0/24";
        var cidr = (Network: IPAddress.Parse("10.244.1.0"), PrefixLength: 24);
        if (!TryParseCidr(cidrText, out var parsedCidr) || parsedCidr.PrefixLength > 28 || parsedCidr.PrefixLength < 16)
        {
            ctx.Error(ctx.ValueNode(root, "podCIDR") ?? root, "podCIDR", $"invalid podCIDR \"{cidrText}\": an IPv4 network between /16 and /28, e.g. 10.244.1.0/24");
        }
        else
        {
            cidr = parsedCidr;
        }

        var namespaceLabels = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var pods = new List<LabPod>();
        var podNodes = new List<(LabPod Pod, YamlNode Node, string Path, bool ExplicitIp)>();
        var namespacesNode = ctx.ValueNode(root, "namespaces");
        if (namespacesNode is not YamlSequenceNode namespaces || namespaces.Children.Count == 0)
        {
            ctx.Error(namespacesNode ?? root, "namespaces", "at least one namespace with pods is required");
            throw new TopologyException(errors);
        }

        for (var i = 0; i < namespaces.Children.Count; i++)
        {
            var nsPath = $"namespaces[{i}]";
            if (namespaces.Children[i] is not YamlMappingNode ns)
            {
                ctx.Error(namespaces.Children[i], nsPath, "expected a mapping with name, labels and pods");
                continue;
            }

            ctx.CheckKeys(ns, nsPath, NamespaceKeys);
            var nsName = ctx.RequiredString(ns, "name", nsPath);
            if (nsName is null)
            {
                continue;
            }

            if (!DnsLabel().IsMatch(nsName))
            {
                ctx.Error(ctx.ValueNode(ns, "name")!, $"{nsPath}.name", $"invalid namespace name \"{nsName}\": lowercase letters, digits and '-'");
            }

            if (!namespaceLabels.TryAdd(nsName, ctx.Labels(ns, "labels", nsPath)))
            {
                ctx.Error(ctx.ValueNode(ns, "name")!, $"{nsPath}.name", $"namespace \"{nsName}\" is defined twice");
            }

            if (ctx.ValueNode(ns, "pods") is not YamlSequenceNode podList)
            {
                ctx.Error(ctx.ValueNode(ns, "pods") ?? ns, $"{nsPath}.pods", "a list of pods is required");
                continue;
            }

            for (var j = 0; j < podList.Children.Count; j++)
            {
                var podPath = $"{nsPath}.pods[{j}]";
                if (podList.Children[j] is not YamlMappingNode podNode)
                {
                    ctx.Error(podList.Children[j], podPath, "expected a mapping with name, labels, aliases, server, port, ip");
                    continue;
                }

                var pod = ParsePod(ctx, podNode, podPath, nsName, cidr, out var explicitIp);
                if (pod is not null)
                {
                    pods.Add(pod);
                    podNodes.Add((pod, podNode, podPath, explicitIp));
                }
            }
        }

        CheckUniqueness(ctx, podNodes);
        var assigned = AssignAddresses(ctx, podNodes, cidr);
        if (errors.Count > 0)
        {
            throw new TopologyException(errors);
        }

        return new LabTopology(name, cidr, namespaceLabels, assigned);
    }

    private static LabPod? ParsePod(Context ctx, YamlMappingNode node, string path, string ns, (IPAddress Network, int PrefixLength) cidr, out bool explicitIp)
    {
        explicitIp = false;
        ctx.CheckKeys(node, path, PodKeys);
        var name = ctx.RequiredString(node, "name", path);
        if (name is null)
        {
            return null;
        }

        if (!DnsLabel().IsMatch(name) || name.Length > 40)
        {
            ctx.Error(ctx.ValueNode(node, "name")!, $"{path}.name", $"invalid pod name \"{name}\": lowercase letters, digits and '-', at most 40 characters");
        }

        var labels = ctx.Labels(node, "labels", path);
        var aliases = new List<string>();
        if (ctx.ValueNode(node, "aliases") is { } aliasNode)
        {
            if (aliasNode is YamlSequenceNode seq)
            {
                for (var k = 0; k < seq.Children.Count; k++)
                {
                    if (seq.Children[k] is YamlScalarNode { Value: { } a } && HostName().IsMatch(a))
                    {
                        aliases.Add(a);
                    }
                    else
                    {
                        ctx.Error(seq.Children[k], $"{path}.aliases[{k}]", "an alias is a host name: lowercase letters, digits, '-' and '.'");
                    }
                }
            }
            else
            {
                ctx.Error(aliasNode, $"{path}.aliases", "expected a list of host names");
            }
        }

        var server = LabServerKind.None;
        var serverText = ctx.OptionalString(node, "server", path);
        if (serverText is not null && !Enum.TryParse(serverText, ignoreCase: true, out server) || serverText is not null && !Enum.IsDefined(server))
        {
            ctx.Error(ctx.ValueNode(node, "server")!, $"{path}.server", $"unknown server \"{serverText}\" (expected http, grpc, kafka or none){ctx.Suggest(serverText!, ["http", "grpc", "kafka", "none"])}");
            server = LabServerKind.None;
        }

        var port = server switch { LabServerKind.Http => 80, LabServerKind.Grpc => 50051, LabServerKind.Kafka => 9092, _ => 0 };
        if (ctx.OptionalString(node, "port", path) is { } portText)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                ctx.Error(ctx.ValueNode(node, "port")!, $"{path}.port", $"invalid port \"{portText}\": 1–65535");
            }
            else if (server == LabServerKind.None)
            {
                ctx.Error(ctx.ValueNode(node, "port")!, $"{path}.port", "a port needs a server (http, grpc or kafka)");
            }
        }

        var address = IPAddress.None;
        if (ctx.OptionalString(node, "ip", path) is { } ipText)
        {
            explicitIp = true;
            if (!IPAddress.TryParse(ipText, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !Contains(cidr, ip))
            {
                ctx.Error(ctx.ValueNode(node, "ip")!, $"{path}.ip", $"invalid ip \"{ipText}\": an IPv4 address inside podCIDR {cidr.Network}/{cidr.PrefixLength}");
            }
            else
            {
                address = ip;
            }
        }

        return new LabPod(name, ns, labels, aliases, server, port, address);
    }

    private static void CheckUniqueness(Context ctx, List<(LabPod Pod, YamlNode Node, string Path, bool ExplicitIp)> pods)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (pod, node, path, _) in pods)
        {
            // Pod names are also host names inside every pod and `lab exec` arguments: keep them unique lab-wide.
            if (!names.TryAdd(pod.Name, pod.QualifiedName))
            {
                ctx.Error(node, $"{path}.name", $"pod name \"{pod.Name}\" is already used by {names[pod.Name]} (pod names are host names: unique in the lab)");
            }
        }

        foreach (var (pod, node, path, _) in pods)
        {
            foreach (var alias in pod.Aliases)
            {
                if (!names.TryAdd(alias, pod.QualifiedName) && names[alias] != pod.QualifiedName)
                {
                    ctx.Error(node, $"{path}.aliases", $"alias \"{alias}\" is already a name of {names[alias]}");
                }
            }
        }
    }

    private static List<LabPod> AssignAddresses(Context ctx, List<(LabPod Pod, YamlNode Node, string Path, bool ExplicitIp)> pods, (IPAddress Network, int PrefixLength) cidr)
    {
        var router = AddressAt(cidr.Network, 1);
        var used = new HashSet<IPAddress> { router };
        foreach (var (pod, node, path, explicitIp) in pods)
        {
            if (explicitIp && !pod.Address.Equals(IPAddress.None) && !used.Add(pod.Address))
            {
                ctx.Error(node, $"{path}.ip", $"address {pod.Address} is already taken (the router uses {router})");
            }
        }

        var result = new List<LabPod>();
        var next = 10;
        var hosts = (1 << (32 - cidr.PrefixLength)) - 2;
        foreach (var (pod, node, path, explicitIp) in pods)
        {
            if (explicitIp)
            {
                result.Add(pod);
                continue;
            }

            while (next <= hosts && used.Contains(AddressAt(cidr.Network, next)))
            {
                next++;
            }

            if (next > hosts)
            {
                ctx.Error(node, path, $"podCIDR {cidr.Network}/{cidr.PrefixLength} has no free address left");
                result.Add(pod);
                continue;
            }

            var address = AddressAt(cidr.Network, next++);
            used.Add(address);
            result.Add(pod with { Address = address });
        }

        return result;
    }

    /// <summary>The address <paramref name="offset"/> hosts after <paramref name="network"/>.</summary>
    internal static IPAddress AddressAt(IPAddress network, int offset)
    {
        var b = network.GetAddressBytes();
        var value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) + (uint)offset;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static bool TryParseCidr(string text, out (IPAddress Network, int PrefixLength) cidr)
    {
        cidr = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var len) || len > 32)
        {
            return false;
        }

        cidr = (Mask(ip, len), len);
        return cidr.Network.Equals(ip);
    }

    private static IPAddress Mask(IPAddress ip, int len)
    {
        var b = ip.GetAddressBytes();
        var value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        value &= len == 0 ? 0 : uint.MaxValue << (32 - len);
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static bool Contains((IPAddress Network, int PrefixLength) cidr, IPAddress ip) =>
        Mask(ip, cidr.PrefixLength).Equals(cidr.Network) && !ip.Equals(cidr.Network) && !ip.Equals(AddressAt(cidr.Network, 1));

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial Regex HostName();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelKey();

    private sealed class Context(string file, List<TopologyError> errors)
    {
        public void Error(YamlNode node, string path, string message) =>
            errors.Add(new TopologyError(file, (int)node.Start.Line, (int)node.Start.Column, path, message));

        public YamlNode? ValueNode(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        public void CheckKeys(YamlMappingNode map, string path, string[] known)
        {
            foreach (var key in map.Children.Keys)
            {
                var k = (key as YamlScalarNode)?.Value ?? "";
                if (!known.Contains(k, StringComparer.Ordinal))
                {
                    Error(key, Join(path, k), $"unknown field \"{k}\"{Suggest(k, known)}");
                }
            }
        }

        public string? RequiredString(YamlMappingNode map, string key, string path)
        {
            var v = OptionalString(map, key, path);
            if (v is null && ValueNode(map, key) is null)
            {
                Error(map, Join(path, key), "required field is missing");
            }

            return v;
        }

        public string? OptionalString(YamlMappingNode map, string key, string path)
        {
            var node = ValueNode(map, key);
            if (node is null)
            {
                return null;
            }

            if (node is YamlScalarNode { Value: { Length: > 0 } s })
            {
                return s;
            }

            Error(node, Join(path, key), "expected a non-empty string");
            return null;
        }

        public IReadOnlyDictionary<string, string> Labels(YamlMappingNode map, string key, string path)
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var node = ValueNode(map, key);
            if (node is null)
            {
                return labels;
            }

            if (node is not YamlMappingNode m)
            {
                Error(node, Join(path, key), "expected a mapping of label keys to values");
                return labels;
            }

            foreach (var (k, v) in m.Children)
            {
                var lk = (k as YamlScalarNode)?.Value ?? "";
                var lv = (v as YamlScalarNode)?.Value;
                if (!LabelKey().IsMatch(lk) || lk.Length > 253)
                {
                    Error(k, $"{Join(path, key)}.{lk}", $"invalid label key \"{lk}\"");
                }
                else if (lv is null || lv.Length > 63)
                {
                    Error(v, $"{Join(path, key)}.{lk}", "a label value is a string of at most 63 characters");
                }
                else
                {
                    labels[lk] = lv;
                }
            }

            return labels;
        }

        public string Suggest(string given, IEnumerable<string> known) => Suggestions.Hint(given, known);

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    }
}
