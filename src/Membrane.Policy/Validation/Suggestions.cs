namespace Membrane.Policy.Validation;

/// <summary>"Did you mean" hints: the closest known name to a misspelt one, by case-insensitive edit distance.</summary>
public static class Suggestions
{
    /// <summary>The candidate closest to <paramref name="written"/>, if it is close enough to be a likely typo.</summary>
    public static string? Closest(string written, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Distance(written.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        // A third of the length (at least 1, at most 3) keeps "fromEndpoint" → "fromEndpoints" and
        // "toCIDRS" → "toCIDRSet" while refusing to relate unrelated short words.
        var allowed = Math.Clamp(written.Length / 3, 1, 3);
        return best is not null && bestDistance <= allowed ? best : null;
    }

    /// <summary><c>; did you mean "x"?</c> or empty.</summary>
    public static string Hint(string written, IEnumerable<string> candidates) =>
        Closest(written, candidates) is { } s ? $"; did you mean \"{s}\"?" : "";

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
