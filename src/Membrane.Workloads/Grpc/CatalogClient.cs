using Grpc.Core;
using Grpc.Net.Client;
using Membrane.Workloads.Grpc.Catalog;

namespace Membrane.Workloads.Grpc;

/// <summary>The outcome of one call made by <see cref="CatalogClient"/>.</summary>
/// <param name="Status">gRPC status code.</param>
/// <param name="Detail">Status message, or the answer as text when OK.</param>
public sealed record CatalogCallResult(StatusCode Status, string Detail);

/// <summary>The lab's gRPC client: calls one catalog method over h2c and reports the status code and message.</summary>
public static class CatalogClient
{
    /// <summary>The method names <see cref="CallAsync"/> accepts.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["GetProduct", "UpdateStock", "ListProducts", "ImportProducts", "WatchStock"];

    /// <summary>Opens an h2c channel to <paramref name="target"/> (<c>host:port</c>).</summary>
    public static GrpcChannel CreateChannel(string target) =>
        GrpcChannel.ForAddress($"http://{target}", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = GrpcWorkloadServer.MaxMessageBytes,
            MaxSendMessageSize = GrpcWorkloadServer.MaxMessageBytes,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });

    /// <summary>Calls <paramref name="method"/> with product <paramref name="id"/>; never throws for a gRPC error status.</summary>
    public static async Task<CatalogCallResult> CallAsync(string target, string method, string id, int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var channel = CreateChannel(target);
        var client = new ProductService.ProductServiceClient(channel);
        var options = new CallOptions(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
        try
        {
            switch (method)
            {
                case "GetProduct":
                    return Ok(await client.GetProductAsync(new GetProductRequest { Id = id }, options).ResponseAsync.ConfigureAwait(false));
                case "UpdateStock":
                    return Ok(await client.UpdateStockAsync(new UpdateStockRequest { Id = id, Delta = count }, options).ResponseAsync.ConfigureAwait(false));
                case "ListProducts":
                {
                    using var call = client.ListProducts(new ListProductsRequest { Limit = count }, options);
                    var names = new List<string>();
                    await foreach (var p in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    {
                        names.Add(p.Name);
                    }

                    return new CatalogCallResult(StatusCode.OK, string.Join(",", names));
                }

                case "ImportProducts":
                {
                    using var call = client.ImportProducts(options);
                    for (var i = 0; i < Math.Max(count, 1); i++)
                    {
                        await call.RequestStream.WriteAsync(new Product { Id = id, Stock = i }, cancellationToken).ConfigureAwait(false);
                    }

                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                    return Ok(await call.ResponseAsync.ConfigureAwait(false));
                }

                case "WatchStock":
                {
                    using var call = client.WatchStock(options);
                    var names = new List<string>();
                    for (var i = 0; i < Math.Max(count, 1); i++)
                    {
                        await call.RequestStream.WriteAsync(new StockQuery { Id = id }, cancellationToken).ConfigureAwait(false);
                        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                        {
                            break;
                        }

                        names.Add(call.ResponseStream.Current.Name);
                    }

                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                    return new CatalogCallResult(StatusCode.OK, string.Join(",", names));
                }

                default:
                    throw new ArgumentException($"unknown method {method}; one of {string.Join(", ", Methods)}", nameof(method));
            }
        }
        catch (RpcException e)
        {
            return new CatalogCallResult(e.StatusCode, e.Status.Detail ?? "");
        }
    }

    private static CatalogCallResult Ok(Google.Protobuf.IMessage message) => new(StatusCode.OK, message.ToString() ?? "");
}
