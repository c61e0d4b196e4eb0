using System.CommandLine;
using Membrane.Workloads.Grpc;

namespace Membrane.Cli.Commands.Workload;

/// <summary><c>membrane workload grpc --listen ADDR:PORT</c>: the catalog service on h2c.</summary>
internal static class GrpcWorkloadCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var listen = new Option<string>("--listen") { Description = "Address to listen on, ADDR:PORT.", Required = true };
        var command = new Command("grpc", "gRPC com.example.catalog.ProductService on h2c (prior knowledge).");
        command.Options.Add(listen);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var server = await GrpcWorkloadServer.StartAsync(WorkloadHosting.ParseEndPoint(parse.GetValue(listen)!), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"grpc workload listening on {server.EndPoint}");
            await WorkloadHosting.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
