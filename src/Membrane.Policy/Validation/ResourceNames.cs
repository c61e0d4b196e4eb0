namespace Membrane.Policy.Validation;

/// <summary>Kubernetes object name rules (RFC 1123 subdomains and labels), as the API server applies them.</summary>
internal static class ResourceNames
{
    /// <summary>Lower-case alphanumerics, '-' and '.', starting and ending alphanumeric, at most 253 characters.</summary>
    public static bool IsDnsSubdomain(string s)
    {
        if (s.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var part in s.Split('.'))
        {
            if (!IsDnsLabel(part, 253))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Lower-case alphanumerics and '-', starting and ending alphanumeric, at most <paramref name="max"/> characters.</summary>
    public static bool IsDnsLabel(string s, int max = 63)
    {
        if (s.Length == 0 || s.Length > max || !IsLowerAlnum(s[0]) || !IsLowerAlnum(s[^1]))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!IsLowerAlnum(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    public static string? CheckName(string name) => IsDnsSubdomain(name) ? null :
        $"invalid name \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)";

    public static string? CheckNamespace(string ns) => IsDnsLabel(ns) ? null :
        $"invalid namespace \"{ns}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)";

    private static bool IsLowerAlnum(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);
}
