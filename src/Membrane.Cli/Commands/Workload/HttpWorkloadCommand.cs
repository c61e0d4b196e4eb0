using System.CommandLine;
using Membrane.Workloads.Http;

namespace Membrane.Cli.Commands.Workload;

/// <summary><c>membrane workload http --listen ADDR:PORT</c>: the users API and JSON echo server.</summary>
internal static class HttpWorkloadCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var listen = new Option<string>("--listen") { Description = "Address to listen on, ADDR:PORT.", Required = true };
        var command = new Command("http", "HTTP/1.1 users API (GET /api/v1/users[/{id}], DELETE /api/v1/users/{id}, POST /api/v1/payments) and a JSON echo for every other request.");
        command.Options.Add(listen);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var server = await HttpWorkloadServer.StartAsync(WorkloadHosting.ParseEndPoint(parse.GetValue(listen)!), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"http workload listening on {server.EndPoint}");
            await WorkloadHosting.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
