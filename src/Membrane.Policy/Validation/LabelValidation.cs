using Membrane.Policy.Model;

namespace Membrane.Policy.Validation;

/// <summary>
/// Checks of selector keys and values: <c>[source:]key</c> where key is a Kubernetes qualified name
/// (<c>[prefix/]name</c>) and source one of Cilium's label sources (<c>pkg/labels</c>).
/// </summary>
internal static class LabelValidation
{
    /// <summary>Cilium's label sources (reference §1.3).</summary>
    public static readonly string[] Sources =
        ["unspec", "any", "k8s", "container", "cni", "reserved", "cidr", "cidrgroup", "node", "fqdn", "directory"];

    /// <summary>Keys of <c>reserved:</c> labels (reserved identities, reference §4.1).</summary>
    public static readonly string[] ReservedKeys =
        ["host", "world", "world-ipv4", "world-ipv6", "unmanaged", "health", "init", "remote-node", "kube-apiserver", "ingress", "none", "all"];

    private const string NameRule =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

    /// <summary>Checks a selector key such as <c>app</c>, <c>k8s:app.kubernetes.io/name</c> or <c>reserved:host</c>.</summary>
    public static string? CheckKey(string written)
    {
        if (written.Length == 0)
        {
            return "label key must not be empty";
        }

        var key = written;
        var colon = written.IndexOf(':');
        if (colon >= 0)
        {
            var source = written[..colon];
            key = written[(colon + 1)..];
            if (!Sources.Contains(source))
            {
                return $"unknown label source \"{source}\" in \"{written}\"; sources are {string.Join(", ", Sources)}" +
                    Suggestions.Hint(source, Sources);
            }

            if (source == Label.SourceReserved)
            {
                return ReservedKeys.Contains(key) ? null :
                    $"unknown reserved label \"{key}\"; reserved labels are {string.Join(", ", ReservedKeys)}" + Suggestions.Hint(key, ReservedKeys);
            }

            if (source == Label.SourceCidr || source == "fqdn" || source == "cidrgroup")
            {
                // cidr:10.0.0.0/8 and fqdn:... keys are not Kubernetes qualified names.
                return key.Length == 0 ? $"label key \"{written}\" has an empty name" : null;
            }
        }

        return CheckQualifiedName(key, written);
    }

    /// <summary>Checks a label value: empty, or at most 63 name characters.</summary>
    public static string? CheckValue(string value)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (value.Length > 63)
        {
            return $"invalid label value \"{value}\": must be no more than 63 characters";
        }

        return IsName(value) ? null : $"invalid label value \"{value}\": a valid label value must be empty or {NameRule}";
    }

    private static string? CheckQualifiedName(string key, string written)
    {
        var name = key;
        var slash = key.IndexOf('/');
        if (slash >= 0)
        {
            var prefix = key[..slash];
            name = key[(slash + 1)..];
            if (prefix.Length == 0 || prefix.Length > 253 || !ResourceNames.IsDnsSubdomain(prefix))
            {
                return $"invalid label key \"{written}\": prefix part must be a lowercase DNS subdomain (RFC 1123)";
            }
        }

        if (name.Length == 0)
        {
            return $"invalid label key \"{written}\": name part must not be empty";
        }

        if (name.Length > 63)
        {
            return $"invalid label key \"{written}\": name part must be no more than 63 characters";
        }

        return IsName(name) ? null : $"invalid label key \"{written}\": name part {NameRule}";
    }

    private static bool IsName(string s)
    {
        if (!char.IsAsciiLetterOrDigit(s[0]) || !char.IsAsciiLetterOrDigit(s[^1]))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
