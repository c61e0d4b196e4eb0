using System.CommandLine;
using System.Globalization;
using System.Net;
using Membrane.Workloads.Kafka;

namespace Membrane.Cli.Commands.Workload;

/// <summary>
/// <c>membrane workload kafka --listen ADDR:PORT [--topic NAME[:PARTITIONS]]… [--advertise ADDR:PORT]</c>: runs a Kafka
/// broker (librdkafka's mock cluster) reachable on ADDR:PORT and advertising that address, until interrupted.
/// </summary>
internal static class KafkaWorkloadCommand
{
    /// <summary>The <c>kafka</c> verb.</summary>
    public static Command Build()
    {
        var listen = new Option<string>("--listen")
        {
            Description = "Address and port to serve on (ADDR:PORT, e.g. 10.0.1.5:9092); clients are told to reconnect there.",
            Required = true,
        };
        var topics = new Option<string[]>("--topic")
        {
            Description = "Topic to create at start, NAME or NAME:PARTITIONS (repeatable); clients may also auto-create topics.",
            AllowMultipleArgumentsPerToken = false,
        };
        var advertise = new Option<string?>("--advertise")
        {
            Description = "Address clients are told to reconnect to (ADDR:PORT), when a TCP proxy fronts the broker; default: --listen.",
        };
        var command = new Command("kafka", "Run a Kafka broker (librdkafka mock cluster) on ADDR:PORT.");
        command.Options.Add(listen);
        command.Options.Add(topics);
        command.Options.Add(advertise);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(listen)!, out var endPoint))
            {
                await Console.Error.WriteLineAsync($"--listen: expected ADDR:PORT, got \"{parse.GetValue(listen)}\"");
                return 2;
            }

            IPEndPoint? advertised = null;
            if (parse.GetValue(advertise) is { } a && !IPEndPoint.TryParse(a, out advertised))
            {
                await Console.Error.WriteLineAsync($"--advertise: expected ADDR:PORT, got \"{a}\"");
                return 2;
            }

            var wanted = new List<(string, int)>();
            foreach (var t in parse.GetValue(topics) ?? [])
            {
                var parts = t.Split(':', 2);
                var partitions = 1;
                if (parts[0].Length == 0 || (parts.Length == 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out partitions) || partitions < 1)))
                {
                    await Console.Error.WriteLineAsync($"--topic: expected NAME or NAME:PARTITIONS, got \"{t}\"");
                    return 2;
                }

                wanted.Add((parts[0], partitions));
            }

            await using var broker = KafkaWorkload.Start(endPoint, wanted, advertised);
            Console.WriteLine($"kafka broker listening on {broker.EndPoint} (librdkafka mock cluster {broker.Cluster.Bootstraps})");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }

            return 0;
        });
        return command;
    }
}
