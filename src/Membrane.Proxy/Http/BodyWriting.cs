using System.IO.Pipelines;

namespace Membrane.Proxy.Http;

/// <summary>Copies bytes into a response body writer, asking for buffers no larger than the data.</summary>
internal static class BodyWriting
{
    /// <summary>Writes <paramref name="data"/> without flushing.</summary>
    public static void WriteTo(PipeWriter writer, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = writer.GetSpan(Math.Min(data.Length, 4096));
            var n = Math.Min(span.Length, data.Length);
            if (n == 0)
            {
                throw new InvalidOperationException("the response body writer returned no buffer");
            }

            data[..n].CopyTo(span);
            writer.Advance(n);
            data = data[n..];
        }
    }
}
