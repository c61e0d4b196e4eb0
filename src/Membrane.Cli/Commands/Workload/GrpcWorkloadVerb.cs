using System.CommandLine;
using Membrane.Workloads.Grpc;

namespace Membrane.Cli.Commands.Workload;

/// <summary><c>membrane workload grpc --listen ADDR:PORT</c>: the catalog service on h2c.</summary>
internal sealed class GrpcWorkloadVerb : IWorkloadVerb
{
    public Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Address to listen on, ADDR:PORT.", Required = true };
        var command = new Command("grpc", "gRPC com.example.catalog.ProductService on h2c (prior knowledge).");
        command.Options.Add(listen);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var server = await GrpcWorkloadServer.StartAsync(WorkloadCommand.ParseEndPoint(parse.GetValue(listen)!), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"grpc workload listening on {server.EndPoint}");
            await WorkloadCommand.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
