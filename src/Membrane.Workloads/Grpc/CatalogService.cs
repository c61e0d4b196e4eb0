using Google.Protobuf;
using Grpc.Core;
using Membrane.Workloads.Grpc.Catalog;

namespace Membrane.Workloads.Grpc;

/// <summary>The catalog service: an in-memory product list, one method per gRPC call shape.</summary>
public sealed class CatalogService : ProductService.ProductServiceBase
{
    private readonly Dictionary<string, int> _stock = new(StringComparer.Ordinal) { ["1"] = 10, ["2"] = 5, ["3"] = 0 };
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public override Task<Product> GetProduct(GetProductRequest request, ServerCallContext context)
    {
        var product = Find(request.Id);
        if (request.PayloadBytes > 0)
        {
            product.Payload = ByteString.CopyFrom(Pattern(request.PayloadBytes));
        }

        return Task.FromResult(product);
    }

    /// <inheritdoc />
    public override Task<Product> UpdateStock(UpdateStockRequest request, ServerCallContext context)
    {
        lock (_gate)
        {
            _stock[request.Id] = _stock.GetValueOrDefault(request.Id) + request.Delta;
        }

        return Task.FromResult(Find(request.Id));
    }

    /// <inheritdoc />
    public override async Task ListProducts(ListProductsRequest request, IServerStreamWriter<Product> responseStream, ServerCallContext context)
    {
        var limit = request.Limit <= 0 ? 3 : request.Limit;
        for (var i = 1; i <= limit; i++)
        {
            await responseStream.WriteAsync(Find(i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task<ImportSummary> ImportProducts(IAsyncStreamReader<Product> requestStream, ServerCallContext context)
    {
        var summary = new ImportSummary();
        await foreach (var p in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            summary.Count++;
            summary.PayloadBytes += p.Payload.Length;
            lock (_gate)
            {
                _stock[p.Id] = p.Stock;
            }
        }

        return summary;
    }

    /// <inheritdoc />
    public override async Task WatchStock(IAsyncStreamReader<StockQuery> requestStream, IServerStreamWriter<Product> responseStream, ServerCallContext context)
    {
        await foreach (var q in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(Find(q.Id)).ConfigureAwait(false);
        }
    }

    /// <summary>A deterministic payload, so receivers can check every byte.</summary>
    public static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 31 % 251);
        }

        return bytes;
    }

    private Product Find(string id)
    {
        lock (_gate)
        {
            return new Product { Id = id, Name = $"product-{id}", Stock = _stock.GetValueOrDefault(id) };
        }
    }
}
