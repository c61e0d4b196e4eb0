using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Membrane.Proxy.Tests.Support;
using Membrane.Tests.Shared;
using Membrane.Workloads.Grpc;
using Membrane.Workloads.Grpc.Catalog;
using Membrane.Workloads.Http;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>
/// Grpc.Net.Client through the proxy (h2c with prior knowledge on the same port as HTTP/1.1) to the catalog service:
/// all four call shapes, per-stream denial as PERMISSION_DENIED while other streams of the same connection go on,
/// 8 MB messages both ways.
/// </summary>
public sealed class GrpcEndToEndTests : IAsyncLifetime
{
    private GrpcWorkloadServer _catalog = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _catalog = await GrpcWorkloadServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));
        _proxy = await ProxyHarness.StartAsync(_catalog.EndPoint, new TestPolicySource(TestPolicySource.CatalogRules()));
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _catalog.DisposeAsync();
    }

    [Fact]
    public async Task AllFourCallShapesPassAndADeniedRpcIsPermissionDenied()
    {
        using var channel = CatalogClient.CreateChannel(_proxy.EndPoint.ToString());
        var client = new ProductService.ProductServiceClient(channel);

        var product = await client.GetProductAsync(new GetProductRequest { Id = "1" });
        Assert.Equal("product-1", product.Name);

        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.UpdateStockAsync(new UpdateStockRequest { Id = "1", Delta = 5 }));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("Access denied", denied.Status.Detail);

        // The same connection keeps working after the denial.
        Assert.Equal("product-2", (await client.GetProductAsync(new GetProductRequest { Id = "2" })).Name);

        using (var list = client.ListProducts(new ListProductsRequest { Limit = 5 }))
        {
            var names = new List<string>();
            await foreach (var p in list.ResponseStream.ReadAllAsync())
            {
                names.Add(p.Name);
            }

            Assert.Equal(["product-1", "product-2", "product-3", "product-4", "product-5"], names);
        }

        using (var import = client.ImportProducts())
        {
            for (var i = 0; i < 10; i++)
            {
                await import.RequestStream.WriteAsync(new Product { Id = $"n{i}", Stock = i, Payload = ByteString.CopyFrom(new byte[1000]) });
            }

            await import.RequestStream.CompleteAsync();
            var summary = await import.ResponseAsync;
            Assert.Equal(10, summary.Count);
            Assert.Equal(10_000, summary.PayloadBytes);
        }

        using (var watch = client.WatchStock())
        {
            // Bidi: each query is answered before the next is sent, so flow really goes both ways concurrently.
            foreach (var id in new[] { "1", "2", "3" })
            {
                await watch.RequestStream.WriteAsync(new StockQuery { Id = id });
                Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Equal($"product-{id}", watch.ResponseStream.Current.Name);
            }

            await watch.RequestStream.CompleteAsync();
            Assert.False(await watch.ResponseStream.MoveNext(CancellationToken.None));
        }

        var deniedEvent = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, GrpcStatus: 7 });
        Assert.Equal("HTTP/2", deniedEvent.HttpProtocol);
        Assert.EndsWith("/com.example.catalog.ProductService/UpdateStock", deniedEvent.HttpUrl, StringComparison.Ordinal);
        var ok = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, GrpcStatus: 0 });
        Assert.Equal(L7Verdict.Forwarded, ok.Verdict);
        Assert.Equal(1, _proxy.Policy.Resolves); // one h2 connection for every call above
    }

    [Fact]
    public async Task ConcurrentStreamsGetTheirOwnVerdicts()
    {
        using var channel = CatalogClient.CreateChannel(_proxy.EndPoint.ToString());
        var client = new ProductService.ProductServiceClient(channel);
        var calls = Enumerable.Range(0, 40).Select(async i =>
        {
            if (i % 2 == 0)
            {
                return (await client.GetProductAsync(new GetProductRequest { Id = $"{i}" })).Name == $"product-{i}";
            }

            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.UpdateStockAsync(new UpdateStockRequest { Id = $"{i}" }));
            return e.StatusCode == StatusCode.PermissionDenied;
        });
        Assert.All(await Task.WhenAll(calls), Assert.True);
    }

    [Fact]
    public async Task PolicyChangeAppliesToTheNextStreamAndDeniesAStreamingCallMidUpload()
    {
        using var channel = CatalogClient.CreateChannel(_proxy.EndPoint.ToString());
        var client = new ProductService.ProductServiceClient(channel);
        Assert.Equal("product-1", (await client.GetProductAsync(new GetProductRequest { Id = "1" })).Name);

        // New revision on the open connection: only UpdateStock is allowed now.
        _proxy.Policy.Set(Membrane.Policy.L7.Http.HttpRuleSet.Compile([(new Membrane.Policy.L7.Http.HttpRule(Method: "POST", Path: "/com.example.catalog.ProductService/UpdateStock"), TestPolicySource.CatalogPolicy)]));
        Assert.Equal(15, (await client.UpdateStockAsync(new UpdateStockRequest { Id = "1", Delta = 5 })).Stock);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.GetProductAsync(new GetProductRequest { Id = "1" }));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);

        // A client-streaming call denied while the client is still sending: the trailers-only answer ends it.
        using var import = client.ImportProducts();
        var denied = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            try
            {
                for (var i = 0; i < 100; i++)
                {
                    await import.RequestStream.WriteAsync(new Product { Id = $"x{i}" });
                }

                await import.RequestStream.CompleteAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                // A write racing the answer (trailers-only, then RST_STREAM(NO_ERROR) to stop the upload, RFC 9113
                // §8.1) fails with whatever the client saw first; the call's status is what the response says,
                // which is how Grpc.Net.Client documents reading it after a failed write.
            }

            await import.ResponseAsync;
        });
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(2, _proxy.Policy.Resolves); // the connection's first resolution, then one for the new revision
    }

    [Fact]
    public async Task EightMegabyteMessagesPassBothWays()
    {
        using var channel = CatalogClient.CreateChannel(_proxy.EndPoint.ToString());
        var client = new ProductService.ProductServiceClient(channel);
        const int size = 8 * 1024 * 1024;
        var big = await client.GetProductAsync(new GetProductRequest { Id = "1", PayloadBytes = size });
        Assert.Equal(size, big.Payload.Length);
        Assert.True(big.Payload.Span.SequenceEqual(CatalogService.Pattern(size)));

        using var import = client.ImportProducts();
        await import.RequestStream.WriteAsync(new Product { Id = "big", Payload = ByteString.CopyFrom(CatalogService.Pattern(size)) });
        await import.RequestStream.CompleteAsync();
        Assert.Equal(size, (await import.ResponseAsync).PayloadBytes);
    }

    [Fact]
    public async Task GrpcCallClientReportsTheStatusName()
    {
        var ok = await CatalogClient.CallAsync(_proxy.EndPoint.ToString(), "GetProduct", "1", 1, TimeSpan.FromSeconds(10));
        Assert.Equal(StatusCode.OK, ok.Status);
        var denied = await CatalogClient.CallAsync(_proxy.EndPoint.ToString(), "UpdateStock", "1", 1, TimeSpan.FromSeconds(10));
        Assert.Equal(StatusCode.PermissionDenied, denied.Status);
        Assert.Equal("Access denied", denied.Detail);
    }
}

/// <summary>HTTP/1.1 and h2c prior knowledge on the same listener port, with curl.</summary>
public sealed class MixedProtocolPortTests : IAsyncLifetime
{
    private HttpWorkloadServer _users = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _users = await HttpWorkloadServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));
        _proxy = await ProxyHarness.StartAsync(_users.EndPoint);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _users.DisposeAsync();
    }

    [Fact]
    public async Task CurlPriorKnowledgeAndHttp11ShareThePort()
    {
        // The preface decides per connection: an h2c client gets its denial over HTTP/2 (allowed h2c streams are
        // covered by the gRPC tests, whose origin speaks h2c), an HTTP/1.1 client is served on the same port.
        var (code, stdout, stderr) = await Processes.RunAsync("curl", ["-sS", "--http2-prior-knowledge", "-X", "DELETE", "-w", "|%{http_version}|%{http_code}", $"{_proxy.BaseUrl}/api/v1/users/1"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("Access denied\r\n|2|403", stdout);
        (code, stdout, stderr) = await Processes.RunAsync("curl", ["-sS", "-w", "|%{http_version}|%{http_code}", $"{_proxy.BaseUrl}/api/v1/users/1"]);
        Assert.True(code == 0, stderr);
        Assert.EndsWith("|1.1|200", stdout, StringComparison.Ordinal);
    }
}
