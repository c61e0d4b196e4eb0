using System.IO.Pipelines;

namespace Membrane.Proxy.Listener;

/// <summary>
/// Tells HTTP/2 prior-knowledge connections from HTTP/1.x on one cleartext port by the 24-byte preface (RFC 9113
/// §3.4): HTTP/2 goes to the proxy's own engine, HTTP/1.x to Kestrel. The bytes are only peeked, never consumed.
/// </summary>
internal static class PrefaceSniffer
{
    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>Peeks at the first bytes; true when they are the HTTP/2 preface. False on a timeout or an empty connection.</summary>
    public static async ValueTask<bool> IsHttp2Async(PipeReader input, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            var buffer = result.Buffer;
            var decided = Decide(buffer, out var isHttp2);
            if (decided || result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return decided && isHttp2;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool Decide(System.Buffers.ReadOnlySequence<byte> buffer, out bool isHttp2)
    {
        Span<byte> head = stackalloc byte[24];
        var length = (int)Math.Min(buffer.Length, 24);
        System.Buffers.BuffersExtensions.CopyTo(buffer.Slice(0, length), head);
        isHttp2 = length == 24 && head.SequenceEqual(Preface);
        return length == 24 || !Preface.StartsWith(head[..length]);
    }
}
