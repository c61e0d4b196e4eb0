using Membrane.Observer.Filters;
using Membrane.Observer.Printers;
using Membrane.Observer.Tests.Printers;

namespace Membrane.Observer.Tests.Filters;

/// <summary>Every prefix and every byte-flip of valid input either parses or fails with the documented exception type.</summary>
public sealed class ParserRobustnessTests
{
    [Theory]
    [InlineData("app in (frontend, users),!canary,tier!=db,k8s:env notin (dev),n>3")]
    [InlineData("reserved:world")]
    public void Label_selector_prefixes_and_mutations(string selector)
    {
        foreach (var input in PrefixesAndMutations(selector))
        {
            try
            {
                LabelSelector.Parse(input);
            }
            catch (FormatException)
            {
            }
        }
    }

    [Fact]
    public void Flow_filter_argument_prefixes()
    {
        string[] args = ["--from-pod", "frontend", "--to-label", "app in (a,b)", "--type", "trace:to-endpoint", "--http-status", "5+", "--since", "1h43m", "-f"];
        for (var n = 0; n <= args.Length; n++)
        {
            try
            {
                FlowFilterSpec.Parse(args[..n]);
            }
            catch (FlowFilterParseException)
            {
            }
        }

        foreach (var value in PrefixesAndMutations("trace:to-endpoint").Concat(PrefixesAndMutations("1h43m")).Concat(PrefixesAndMutations("40+")))
        {
            foreach (var flag in new[] { "--type", "--since", "--http-status", "--from-label", "--port", "--http-path" })
            {
                try
                {
                    FlowFilterSpec.Parse([flag, value]);
                }
                catch (FlowFilterParseException)
                {
                }
            }
        }
    }

    [Fact]
    public void Hubble_json_prefixes_and_mutations()
    {
        foreach (var response in new[] { FlowSamples.All[0], FlowSamples.All[6], FlowSamples.Lost })
        {
            var line = HubbleJson.Serialize(response);
            foreach (var input in PrefixesAndMutations(line))
            {
                try
                {
                    HubbleJsonReader.ParseResponse(input);
                }
                catch (FormatException)
                {
                }
            }
        }
    }

    private static IEnumerable<string> PrefixesAndMutations(string text)
    {
        for (var i = 0; i <= text.Length; i++)
        {
            yield return text[..i];
        }

        var replacements = new[] { '"', ',', '(', ')', ':', '{', '}', '[', ']', '0', 'x', '\\', ' ', '!' };
        for (var i = 0; i < text.Length; i++)
        {
            foreach (var r in replacements)
            {
                yield return string.Concat(text.AsSpan(0, i), new ReadOnlySpan<char>(in r), text.AsSpan(i + 1));
            }
        }
    }
}
