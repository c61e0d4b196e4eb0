namespace Membrane.Fuzz;

/// <summary>
/// One fuzz harness: feeds arbitrary bytes to a parser. It must never throw for any input (malformed input is a
/// Rejected result, not an exception); an exception or a hang is a finding. Targets are discovered by reflection
/// and named on the command line by <see cref="Name"/>.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>Short name used on the command line, e.g. <c>http1-head</c>, <c>kafka-request</c>.</summary>
    string Name { get; }

    /// <summary>Runs the parser over <paramref name="input"/>.</summary>
    void Run(ReadOnlySpan<byte> input);
}
