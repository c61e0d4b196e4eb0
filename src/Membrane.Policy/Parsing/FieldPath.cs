namespace Membrane.Policy.Parsing;

/// <summary>Builds field paths as errors print them: <c>spec.ingress[0].toPorts[1].rules.http[0].path</c>.</summary>
internal static class FieldPath
{
    public static string Member(string parent, string name)
    {
        if (!IsSimple(name))
        {
            return $"{parent}[\"{name.Replace("\"", "\\\"", StringComparison.Ordinal)}\"]";
        }

        return parent.Length == 0 ? name : $"{parent}.{name}";
    }

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    private static bool IsSimple(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
