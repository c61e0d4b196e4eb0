using System.CommandLine;
using Membrane.Workloads.Grpc;

namespace Membrane.Cli.Commands.Workload;

/// <summary>
/// <c>membrane workload grpc-call --target HOST:PORT --method GetProduct [--id 1] [--count 3]</c>: calls the catalog
/// once, prints <c>STATUS_NAME: detail</c> and exits with the gRPC status code (0 = OK, 7 = PERMISSION_DENIED).
/// </summary>
internal static class GrpcCallCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var target = new Option<string>("--target") { Description = "HOST:PORT of the catalog service (or of the proxy in front of it).", Required = true };
        var method = new Option<string>("--method") { Description = $"One of {string.Join(", ", CatalogClient.Methods)}.", Required = true };
        var id = new Option<string>("--id") { Description = "Product id.", DefaultValueFactory = _ => "1" };
        var count = new Option<int>("--count") { Description = "Stock delta, or messages to stream.", DefaultValueFactory = _ => 3 };
        var timeout = new Option<double>("--timeout") { Description = "Deadline in seconds.", DefaultValueFactory = _ => 10 };
        var command = new Command("grpc-call", "Call one catalog method and report its gRPC status.");
        command.Options.Add(target);
        command.Options.Add(method);
        command.Options.Add(id);
        command.Options.Add(count);
        command.Options.Add(timeout);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var name = parse.GetValue(method)!;
            if (!CatalogClient.Methods.Contains(name, StringComparer.Ordinal))
            {
                Console.Error.WriteLine($"--method: unknown method '{name}'; one of {string.Join(", ", CatalogClient.Methods)}");
                return 2;
            }

            var result = await CatalogClient.CallAsync(parse.GetValue(target)!, name, parse.GetValue(id)!, parse.GetValue(count), TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"{ToUpperSnake(result.Status.ToString())}: {result.Detail}");
            return (int)result.Status;
        });
        return command;
    }

    private static string ToUpperSnake(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) && char.IsLower(pascal[i - 1]) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
