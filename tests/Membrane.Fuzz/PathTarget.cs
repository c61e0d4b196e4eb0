using System.Text;
using Membrane.Proxy.Http;

namespace Membrane.Fuzz;

/// <summary>
/// The request-target normalizer. Invariants: what it accepts is idempotent (checked == forwarded normalizes to
/// itself), has no dot-segment, no empty segment and no encoded slash in its path.
/// </summary>
public sealed class PathTarget : IFuzzTarget
{
    private readonly char[] _output = new char[8192];
    private readonly char[] _again = new char[8192];

    /// <inheritdoc />
    public string Name => "http-path";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        var target = Encoding.Latin1.GetString(input);
        if (PathNormalizer.Normalize(target, _output, out var n) is not null)
        {
            return;
        }

        var normalized = _output.AsSpan(0, n);
        if (PathNormalizer.Normalize(normalized, _again, out var m) is { } error || !normalized.SequenceEqual(_again.AsSpan(0, m)))
        {
            throw new InvalidOperationException($"not idempotent: '{normalized}'");
        }

        var q = normalized.IndexOf('?');
        var path = q < 0 ? normalized : normalized[..q];
        if (path is "*")
        {
            return;
        }

        if (path.Contains("//", StringComparison.Ordinal) || path.Contains("/./", StringComparison.Ordinal) || path.Contains("/../", StringComparison.Ordinal)
            || path.EndsWith("/..", StringComparison.Ordinal) || path.EndsWith("/.", StringComparison.Ordinal)
            || path.Contains("%2F", StringComparison.OrdinalIgnoreCase) || path.Contains('\\') || path.IsEmpty || path[0] != '/')
        {
            throw new InvalidOperationException($"unsafe normalized path '{normalized}' from '{target}'");
        }
    }
}
