using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

/// <summary>
/// Profile variants of the h2c path, run by bench/traffic/h2c-profile.sh in the same run as the proxy, to split the
/// proxy's cost per request: Kestrel's HTTP/2 server alone (the front's floor) and SocketsHttpHandler alone (the
/// upstream leg's floor).
/// </summary>
internal static class Variants
{
    private static readonly byte[] Body = "hello from backend\n"u8.ToArray();

    /// <summary>Kestrel with the proxy listener's options (inline scheduling, h2c) answering every request 200 itself.</summary>
    public static async Task<IServer> StartKestrelFixedAsync(IPEndPoint listen, bool inline)
    {
        var options = new KestrelServerOptions { AddServerHeader = false };
        options.Limits.Http2.MaxStreamsPerConnection = 250;
        options.Listen(listen, lo => lo.Protocols = HttpProtocols.Http2);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions
        {
            UnsafePreferInlineScheduling = inline,
            WaitForDataBeforeAllocatingBuffer = !inline,
        }), NullLoggerFactory.Instance);
        var server = new KestrelServer(Options.Create(options), transport, NullLoggerFactory.Instance);
        await server.StartAsync(new FixedApplication(), CancellationToken.None).ConfigureAwait(false);
        return server;
    }

    /// <summary>
    /// Drives <paramref name="concurrency"/> concurrent unary gRPC-shaped POSTs through one SocketsHttpHandler (configured
    /// as the proxy's upstream client) to <paramref name="upstream"/> for <paramref name="seconds"/>, and prints this
    /// process's CPU and allocations per request.
    /// </summary>
    public static async Task<int> RunClientLoadAsync(IPEndPoint upstream, int concurrency, int seconds)
    {
        var grpcBody = new byte[] { 0, 0, 0, 0, 7, 0x0a, 5, (byte)'w', (byte)'o', (byte)'r', (byte)'l', (byte)'d' };
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = null,
        });
        var uri = new Uri($"http://{upstream}/helloworld.Greeter/SayHello");
        long requests = 0;
        var stop = false;

        async Task Loop()
        {
            var buffer = new byte[256];
            while (!Volatile.Read(ref stop))
            {
                using var message = new HttpRequestMessage(HttpMethod.Post, uri)
                {
                    Version = HttpVersion.Version20,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    Content = new ByteArrayContent(grpcBody),
                };
                message.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
                message.Headers.TryAddWithoutValidation("te", "trailers");
                using var response = await invoker.SendAsync(message, CancellationToken.None).ConfigureAwait(false);
                var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                while (await stream.ReadAsync(buffer).ConfigureAwait(false) > 0)
                {
                }

                Interlocked.Increment(ref requests);
            }
        }

        // Warm-up (tiered compilation) for the first third, then measure.
        var loops = Enumerable.Range(0, concurrency).Select(_ => Task.Run(Loop)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(2, seconds / 3))).ConfigureAwait(false);
        var r0 = Interlocked.Read(ref requests);
        var a0 = GC.GetTotalAllocatedBytes(precise: true);
        var c0 = Process.GetCurrentProcess().TotalProcessorTime;
        var g0 = GC.CollectionCount(0);
        var t0 = ThreadPool.CompletedWorkItemCount;
        await Task.Delay(TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
        var r1 = Interlocked.Read(ref requests);
        var a1 = GC.GetTotalAllocatedBytes(precise: true);
        var c1 = Process.GetCurrentProcess().TotalProcessorTime;
        var n = r1 - r0;
        Console.WriteLine($"client-load: requests={n} rps={n / seconds} cpu_us_per_request={(c1 - c0).TotalMicroseconds / n:F1} bytes_per_request={(a1 - a0) / (double)n:F0} gen0={GC.CollectionCount(0) - g0} threadpool_items_per_request={(ThreadPool.CompletedWorkItemCount - t0) / (double)n:F2}");
        Volatile.Write(ref stop, true);
        await Task.WhenAll(loops).ConfigureAwait(false);
        return 0;
    }

    private sealed class FixedApplication : IHttpApplication<IFeatureCollection>
    {
        public IFeatureCollection CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

        public async Task ProcessRequestAsync(IFeatureCollection context)
        {
            var reader = context.Get<IRequestBodyPipeFeature>()!.Reader;
            while (true)
            {
                var r = await reader.ReadAsync().ConfigureAwait(false);
                reader.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted)
                {
                    break;
                }
            }

            var response = context.Get<IHttpResponseFeature>()!;
            response.StatusCode = 200;
            response.Headers.ContentType = "text/plain";
            response.Headers.ContentLength = Body.Length;
            await context.Get<IHttpResponseBodyFeature>()!.Writer.WriteAsync(Body).ConfigureAwait(false);
            RequestCount.Increment();
        }

        public void DisposeContext(IFeatureCollection context, Exception? exception)
        {
        }
    }
}

/// <summary>Requests served by the fixed Kestrel variant (for the stats line).</summary>
internal static class RequestCount
{
    private static long _count;

    public static long Value => Interlocked.Read(ref _count);

    public static void Increment() => Interlocked.Increment(ref _count);
}
