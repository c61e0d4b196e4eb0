using System.Text;

namespace Membrane.Cli.Output;

/// <summary>
/// Aligned plain-text columns, the way <c>cilium-dbg</c> prints them (Go's tabwriter: columns padded to their widest
/// cell plus three spaces, no trailing spaces). A header or cell may span several lines (<c>\n</c>): the extra lines
/// are printed under it with the other columns blank, as Cilium prints an endpoint's labels. Output is stable so
/// that scripts and golden tests can rely on it.
/// </summary>
internal sealed class TextTable
{
    private const int Padding = 3;

    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    public TextTable(params string[] headers) => _headers = headers;

    public int Count => _rows.Count;

    public void Add(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"row has {cells.Length} cells, the table {_headers.Length} columns");
        }

        _rows.Add(cells);
    }

    public override string ToString()
    {
        var lines = new List<string[]>();
        AddPhysical(lines, _headers);
        foreach (var row in _rows)
        {
            AddPhysical(lines, row);
        }

        var widths = new int[_headers.Length];
        foreach (var line in lines)
        {
            for (var c = 0; c < line.Length; c++)
            {
                widths[c] = Math.Max(widths[c], line[c].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var line in lines)
        {
            var sb = new StringBuilder();
            for (var c = 0; c < line.Length; c++)
            {
                sb.Append(line[c]);
                if (c < line.Length - 1)
                {
                    sb.Append(' ', widths[c] - line[c].Length + Padding);
                }
            }

            text.Append(sb.ToString().TrimEnd()).Append('\n');
        }

        return text.ToString();
    }

    private static void AddPhysical(List<string[]> lines, string[] cells)
    {
        var split = cells.Select(c => c.Split('\n')).ToArray();
        var height = split.Max(s => s.Length);
        for (var i = 0; i < height; i++)
        {
            lines.Add([.. split.Select(s => i < s.Length ? s[i] : "")]);
        }
    }
}
