using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Membrane.Proxy.Listener;

/// <summary>
/// Tells HTTP/2 prior-knowledge connections from HTTP/1.x on one cleartext port. Kestrel serves only HTTP/1.1 on a
/// cleartext <c>Http1AndHttp2</c> endpoint (dotnet/aspnetcore#56984); it picks HTTP/2 when the connection reports the
/// ALPN protocol <c>h2</c>. So once the 24-byte preface (RFC 9113 §3.4) is seen, the connection is given those
/// features; the bytes are only peeked, never consumed.
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

    /// <summary>Marks the connection as HTTP/2 for Kestrel's protocol selection.</summary>
    public static void SelectHttp2(ConnectionContext connection)
    {
        connection.Features.Set<ITlsConnectionFeature>(Http2Selection.Instance);
        connection.Features.Set<ITlsApplicationProtocolFeature>(Http2Selection.Instance);
    }

    private static bool Decide(System.Buffers.ReadOnlySequence<byte> buffer, out bool isHttp2)
    {
        Span<byte> head = stackalloc byte[24];
        var length = (int)Math.Min(buffer.Length, 24);
        System.Buffers.BuffersExtensions.CopyTo(buffer.Slice(0, length), head);
        isHttp2 = length == 24 && head.SequenceEqual(Preface);
        return length == 24 || !Preface.StartsWith(head[..length]);
    }

    private sealed class Http2Selection : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        public static readonly Http2Selection Instance = new();

        public X509Certificate2? ClientCertificate { get; set; }

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
    }
}
