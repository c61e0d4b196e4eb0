using System.IO.Pipelines;
using System.Net;

namespace Membrane.Proxy.Http2;

/// <summary>
/// A request body streamed from Kestrel's request pipe to the upstream as it arrives, flushed after every read so
/// streaming RPCs see each message at once (full duplex: the response may start before this completes).
/// </summary>
internal sealed class PipeContent(PipeReader reader) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            foreach (var segment in result.Buffer)
            {
                await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }

            reader.AdvanceTo(result.Buffer.End);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
