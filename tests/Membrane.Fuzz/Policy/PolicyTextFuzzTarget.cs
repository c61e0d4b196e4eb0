using System.Text;
using Membrane.Policy.Parsing;

namespace Membrane.Fuzz.Policy;

/// <summary>Policy loader over arbitrary text: any input gives a result (policies or errors), never an exception.</summary>
public sealed class PolicyTextFuzzTarget : IFuzzTarget
{
    /// <inheritdoc />
    public string Name => "policy-text";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input) => PolicyLoader.LoadText(Encoding.UTF8.GetString(input), "fuzz.yaml");
}
