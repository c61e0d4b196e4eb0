using System.Globalization;
using System.Text;

namespace Membrane.Observer.Tests.Metrics;

/// <summary>A strict parser for the Prometheus text format 0.0.4, to read the exposition back in tests.</summary>
internal sealed class ExpositionParser
{
    public Dictionary<string, string> Help { get; } = [];

    public Dictionary<string, string> Types { get; } = [];

    public List<Sample> Samples { get; } = [];

    public static ExpositionParser Parse(string text)
    {
        var result = new ExpositionParser();
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "exposition must end with a line feed");
        var lineNumber = 0;
        foreach (var line in text.Split('\n').SkipLast(1))
        {
            lineNumber++;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = line[7..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                result.Help[rest[..space]] = UnescapeHelp(rest[(space + 1)..]);
            }
            else if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ');
                Assert.Equal(2, parts.Length);
                Assert.Contains(parts[1], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                Assert.False(result.Types.ContainsKey(parts[0]), $"line {lineNumber}: second TYPE for {parts[0]}");
                result.Types[parts[0]] = parts[1];
            }
            else
            {
                Assert.False(line.StartsWith('#'), $"line {lineNumber}: unexpected comment");
                result.Samples.Add(ParseSample(line, lineNumber));
            }
        }

        return result;
    }

    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var matches = Samples.Where(s => s.Name == name && s.Labels.Count == labels.Length
            && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        Assert.True(matches.Count == 1,
            $"expected one sample {name}{{{string.Join(',', labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}}, found {matches.Count}");
        return matches[0].Value;
    }

    private static Sample ParseSample(string line, int lineNumber)
    {
        var pos = 0;
        while (pos < line.Length && (char.IsAsciiLetterOrDigit(line[pos]) || line[pos] is '_' or ':'))
        {
            pos++;
        }

        var name = line[..pos];
        Assert.True(name.Length > 0 && !char.IsAsciiDigit(name[0]), $"line {lineNumber}: bad metric name");
        var labels = new Dictionary<string, string>();
        if (pos < line.Length && line[pos] == '{')
        {
            pos++;
            while (line[pos] != '}')
            {
                var start = pos;
                while (char.IsAsciiLetterOrDigit(line[pos]) || line[pos] == '_')
                {
                    pos++;
                }

                var label = line[start..pos];
                Assert.True(line[pos] == '=' && line[pos + 1] == '"', $"line {lineNumber}: expected =\" after {label}");
                pos += 2;
                var value = new StringBuilder();
                while (line[pos] != '"')
                {
                    if (line[pos] == '\\')
                    {
                        pos++;
                        value.Append(line[pos] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"line {lineNumber}: bad escape \\{line[pos]}"),
                        });
                    }
                    else
                    {
                        value.Append(line[pos]);
                    }

                    pos++;
                }

                pos++;
                Assert.False(labels.ContainsKey(label), $"line {lineNumber}: duplicate label {label}");
                labels[label] = value.ToString();
                if (line[pos] == ',')
                {
                    pos++;
                }
            }

            pos++;
        }

        Assert.True(line[pos] == ' ', $"line {lineNumber}: expected a space before the value");
        var text = line[(pos + 1)..];
        var number = text switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }

    private static string UnescapeHelp(string text) =>
        text.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    public sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);
}
