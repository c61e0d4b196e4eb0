using Membrane.Proxy.Http;

namespace Membrane.Fuzz;

/// <summary>The upstream HTTP/1.x response head parser; checks that every offset it reports lies inside the input.</summary>
public sealed class Http1ResponseHeadTarget : IFuzzTarget
{
    // Created on first use: constructors of instrumented assemblies must not run before SharpFuzz set up its map.
    private Http1ResponseHead? _head;

    /// <inheritdoc />
    public string Name => "http1-response-head";

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        _head ??= new Http1ResponseHead();
        var status = Http1ResponseHeadParser.Parse(input, _head);
        if (status == ParseStatus.Rejected && _head.Error is null)
        {
            throw new InvalidOperationException("rejected without a reason");
        }

        if (status != ParseStatus.Complete)
        {
            return;
        }

        if (_head.HeadLength > input.Length || _head.StatusCode is < 100 or > 999)
        {
            throw new InvalidOperationException($"head length {_head.HeadLength} / status {_head.StatusCode} out of range");
        }

        foreach (var h in _head.Headers)
        {
            if (h.NameStart + h.NameLength > _head.HeadLength || h.ValueStart + h.ValueLength > _head.HeadLength || h.NameLength == 0)
            {
                throw new InvalidOperationException("header range outside the head");
            }
        }

        if (_head.Framing == ResponseFraming.ContentLength && _head.ContentLength < 0)
        {
            throw new InvalidOperationException("negative Content-Length");
        }
    }
}
