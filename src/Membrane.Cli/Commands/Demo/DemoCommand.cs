using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Membrane.Agent.Api;
using Membrane.Agent.Hosting;
using Membrane.Agent.Lab;
using Membrane.Cli.Commands.Lab;
using Membrane.Observer.Printers;

namespace Membrane.Cli.Commands.Demo;

/// <summary>
/// <c>membrane demo [--down]</c>: the seed article's production patterns on one machine. Brings up the seed lab,
/// applies the seed's policies, runs the seed's checks with real clients inside the pods (curl, a gRPC client, kcat),
/// prints expected against actual outcomes, what Membrane observed, then the header-match variant; leaves the lab
/// running. Exits 1 if any check did not give its expected outcome.
/// </summary>
internal static class DemoCommand
{
    private const string Lab = "seed";

    public static Command Build()
    {
        var down = new Option<bool>("--down") { Description = "Remove the demo's lab instead." };
        var command = new Command("demo", "Run the seed article's checks against real workloads on this machine (README's main command).") { down };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(down))
            {
                if (!LabCommand.Down(Lab, new ConsoleProgress(output)))
                {
                    output.WriteLine("the demo lab is not running");
                }

                return 0;
            }

            try
            {
                return await RunAsync(output, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                error.WriteLine("interrupted; remove the lab with: ./membrane demo --down");
                return 130;
            }
            catch (Exception e) when (e is LabException or TopologyException or AgentUnavailableException or AgentApiException or InvalidOperationException or TimeoutException or IOException or Membrane.Datapath.DatapathException)
            {
                error.WriteLine($"error: the demo failed: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var root = RepositoryRoot();
        var membrane = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the membrane executable's path");
        output.WriteLine("Membrane demo: the seed article's production patterns, enforced on real traffic on this machine.");
        output.WriteLine();

        Heading(output, 1, "Bringing up the lab (examples/lab/seed.yaml): node namespace, 10 pods, agent, workloads");
        var topologyFile = Path.Combine(root, "examples", "lab", "seed.yaml");
        var lab = await LabCommand.UpAsync(LabTopologyParser.ParseFile(topologyFile), topologyFile, new ConsoleProgress(output), cancellationToken).ConfigureAwait(false);

        using var client = new AgentClient(AgentPaths.Socket(Lab));
        var seed = Path.Combine(root, "examples", "seed");
        Heading(output, 2, "Applying the seed's three policies (examples/seed/)");
        var applied = await ApplyAsync(client, seed, ["user-service-api-policy.yaml", "catalog-grpc-policy.yaml", "kafka-broker-policy.yaml"], cancellationToken).ConfigureAwait(false);
        output.WriteLine($"  · {string.Join(", ", applied.Changed.Select(p => p.ToString()))}: revision {applied.Revision} enforcing");

        var started = DateTimeOffset.UtcNow;
        Heading(output, 3, "Running the seed's checks with real clients inside the pods");
        var order = $"order-{DateTime.UtcNow:HHmmss.fff}";
        var failures = RunChecks(output, lab, SeedChecks(membrane, order));

        Heading(output, 4, "What Membrane saw");
        output.WriteLine("  $ membrane observe --protocol http --since <start of the checks> -o table      (HTTP and gRPC)");
        await PrintFlowsAsync(client, output, ["--protocol", "http"], started, table: true, cancellationToken).ConfigureAwait(false);
        output.WriteLine();
        output.WriteLine("  $ membrane observe --protocol kafka --verdict DROPPED --since <start of the checks> -o table");
        await PrintFlowsAsync(client, output, ["--protocol", "kafka", "--verdict", "DROPPED"], started, table: true, cancellationToken).ConfigureAwait(false);
        output.WriteLine();
        output.WriteLine("  $ membrane monitor --type drop      (every drop of the checks, kernel and proxy, as monitor lines)");
        await PrintFlowsAsync(client, output, ["--type", "drop", "--type", "l7"], started, table: false, cancellationToken).ConfigureAwait(false);

        Heading(output, 5, "Header matching: replacing user-service-api-policy with user-service-header-policy");
        output.WriteLine("  (frontend's GET now also needs the header X-Request-Source: frontend-app)");
        applied = await ApplyAsync(client, seed, ["user-service-header-policy.yaml", "catalog-grpc-policy.yaml", "kafka-broker-policy.yaml"], cancellationToken).ConfigureAwait(false);
        output.WriteLine($"  · revision {applied.Revision} enforcing: default/user-service-header-policy, default/catalog-grpc-policy, kafka/kafka-broker-policy");
        failures += RunChecks(output, lab, HeaderChecks());
        output.WriteLine();
        output.WriteLine("  $ membrane endpoint list    (the PROXY column: users' port 80 goes through the L7 proxy)");
        RunSelf(membrane, output, "endpoint", "list", "--instance", Lab);

        Heading(output, 6, "The lab is still running");
        output.WriteLine("  Explore:");
        output.WriteLine("    ./membrane observe --from-app frontend --to-app users -n default");
        output.WriteLine("    ./membrane lab exec frontend -- curl -s http://user-service/api/v1/users/123");
        output.WriteLine("    ./membrane lab exec shipping -- kcat -C -b kafka:9092 -t orders-topic -o beginning -e");
        output.WriteLine("    ./membrane policy trace --src frontend --dst users --dport 80 --http-method DELETE --http-path /api/v1/users/123");
        output.WriteLine("    ./membrane monitor --type drop      ./membrane status      ./membrane lab status");
        output.WriteLine("  Stop: ./membrane demo --down");
        output.WriteLine();
        output.WriteLine(failures == 0
            ? "All checks gave their expected outcome."
            : $"{failures} check(s) did NOT give the expected outcome.");
        return failures == 0 ? 0 : 1;
    }

    private static IReadOnlyList<DemoCheck> SeedChecks(string membrane, string order)
    {
        const string Users = "http://user-service/api/v1";
        return
        [
            Http("frontend", "GET", $"{Users}/users/123", expectedStatus: 200),
            Http("frontend", "DELETE", $"{Users}/users/123", expectedStatus: 403),
            Http("billing", "POST", $"{Users}/payments", expectedStatus: 200),
            Http("billing", "GET", $"{Users}/payments", expectedStatus: 403),
            new("intruder", $"GET {Users}/users/123", "dropped at L3/L4 (no answer)",
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "3", $"{Users}/users/123"],
                r => r.ExitCode == 28 ? ("no answer in 3 s (dropped)", true) : ($"curl exit {r.ExitCode}, HTTP {r.Stdout.Trim()}", false)),
            Grpc(membrane, "reco", "GetProduct", "OK"),
            Grpc(membrane, "reco", "UpdateStock", "PERMISSION_DENIED"),
            Grpc(membrane, "inventory", "UpdateStock", "OK"),
            new("orders", "kcat produce to orders-topic", "delivered",
                ["kcat", "-P", "-b", "kafka:9092", "-t", "orders-topic"],
                r => r.ExitCode == 0 && !r.All.Contains("failed", StringComparison.OrdinalIgnoreCase) ? ("delivered", true) : (KafkaError(r), false),
                StandardInput: order + "\n"),
            new("shipping", "kcat produce to orders-topic", "TOPIC_AUTHORIZATION_FAILED",
                ["kcat", "-P", "-b", "kafka:9092", "-t", "orders-topic"],
                r => r.All.Contains("Topic authorization failed", StringComparison.Ordinal) ? ("TOPIC_AUTHORIZATION_FAILED", true) : (KafkaError(r), false),
                StandardInput: "not-allowed\n"),
            new("shipping", "kcat consume orders-topic", $"gets \"{order}\"",
                ["kcat", "-C", "-b", "kafka:9092", "-t", "orders-topic", "-o", "beginning", "-e", "-q"],
                r => r.Stdout.Contains(order, StringComparison.Ordinal) ? ($"got \"{order}\"", true) : (KafkaError(r), false)),
            new("orders", "kcat consume orders-topic", "TOPIC_AUTHORIZATION_FAILED",
                ["kcat", "-C", "-b", "kafka:9092", "-t", "orders-topic", "-o", "beginning", "-e", "-q"],
                r => r.All.Contains("Topic authorization failed", StringComparison.Ordinal) && !r.Stdout.Contains(order, StringComparison.Ordinal)
                    ? ("TOPIC_AUTHORIZATION_FAILED", true)
                    : (KafkaError(r), false)),
        ];
    }

    private static IReadOnlyList<DemoCheck> HeaderChecks() =>
    [
        Http("frontend", "GET", "http://user-service/api/v1/users/123", expectedStatus: 403),
        Http("frontend", "GET", "http://user-service/api/v1/users/123", expectedStatus: 200, header: "X-Request-Source: frontend-app"),
    ];

    private static DemoCheck Http(string from, string method, string url, int expectedStatus, string? header = null)
    {
        var expected = expectedStatus == 403 ? "403 Access denied" : expectedStatus.ToString(CultureInfo.InvariantCulture);
        string[] command = ["curl", "-s", "-m", "5", "-X", method, "-w", "\n%{http_code}", .. header is null ? Array.Empty<string>() : ["-H", header], url];
        return new DemoCheck(from, $"{method} {url}{(header is null ? "" : $" -H \"{header}\"")}", expected, command, r =>
        {
            var lines = r.Stdout.TrimEnd().Split('\n');
            var status = lines[^1];
            var body = string.Join('\n', lines[..^1]).Trim();
            var actual = status == "403" ? $"403 {body}" : status == "000" ? $"no answer (curl exit {r.ExitCode})" : status;
            return (actual, actual == expected);
        });
    }

    private static DemoCheck Grpc(string membrane, string from, string method, string expected) =>
        new(from, $"gRPC ProductService/{method}", expected,
            [membrane, "workload", "grpc-call", "--target", "catalog:50051", "--method", method, "--timeout", "10"],
            r =>
            {
                var first = r.Stdout.Split('\n')[0].Trim();
                var code = first.Split(':')[0];
                return (code.Length == 0 ? $"no answer (exit {r.ExitCode})" : code, code == expected);
            });

    private static string KafkaError(ClientRun r)
    {
        var line = r.All.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("ERROR", StringComparison.Ordinal) || l.Contains("failed", StringComparison.OrdinalIgnoreCase));
        return line ?? $"exit {r.ExitCode}, {r.Stdout.Trim().Split('\n').Length} message(s)";
    }

    private static int RunChecks(TextWriter output, LabState lab, IReadOnlyList<DemoCheck> checks)
    {
        output.WriteLine($"  {"FROM",-10} {"REQUEST",-66} {"EXPECTED",-28} ACTUAL");
        var failures = 0;
        foreach (var check in checks)
        {
            var (actual, passed) = check.Run(lab, TimeSpan.FromSeconds(20));
            failures += passed ? 0 : 1;
            output.WriteLine($"  {check.From,-10} {Shorten(check.Request, 66),-66} {check.Expected,-28} {actual}  {(passed ? "✔" : "✘ UNEXPECTED")}");
        }

        return failures;
    }

    private static async Task<PolicyChangeResponse> ApplyAsync(AgentClient client, string directory, string[] files, CancellationToken cancellationToken) =>
        await client.ImportPoliciesAsync(new PolicyImportRequest
        {
            ReplaceAll = true,
            Documents = [.. files.Select(f => new PolicyDocument(Path.Combine(directory, f), File.ReadAllText(Path.Combine(directory, f))))],
        }, cancellationToken).ConfigureAwait(false);

    private static async Task PrintFlowsAsync(AgentClient client, TextWriter output, string[] filter, DateTimeOffset since, bool table, CancellationToken cancellationToken)
    {
        var args = new List<string>(filter) { "--since", since.ToString("o", CultureInfo.InvariantCulture) };
        var printer = table ? FlowPrinters.Create(OutputFormat.Table, output) : null;
        var monitor = table ? null : new MonitorPrinter(output, kinds: MonitorEventKinds.Drop);
        await foreach (var line in client.ObserveAsync(new ObserveRequest(args), cancellationToken).ConfigureAwait(false))
        {
            if (HubbleJsonReader.ParseResponse(line) is not { } response)
            {
                continue;
            }

            if (printer is not null)
            {
                printer.Write(response);
            }
            else
            {
                monitor!.Write(response);
            }
        }

        printer?.Flush();
    }

    private static void RunSelf(string membrane, TextWriter output, params string[] args)
    {
        var psi = new ProcessStartInfo(membrane) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        output.Write(p.StandardOutput.ReadToEnd());
        output.Write(p.StandardError.ReadToEnd());
        p.WaitForExit();
    }

    private static void Heading(TextWriter output, int step, string text)
    {
        output.WriteLine();
        output.WriteLine($"[{step}/6] {text}");
    }

    private static string Shorten(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";

    /// <summary>The repository root: <c>MEMBRANE_ROOT</c> (set by ./membrane), else the directory above the binary
    /// that holds Membrane.slnx.</summary>
    private static string RepositoryRoot()
    {
        if (Environment.GetEnvironmentVariable("MEMBRANE_ROOT") is { Length: > 0 } fromEnv)
        {
            return fromEnv;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Membrane.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository (set MEMBRANE_ROOT to the folder holding examples/)");
    }
}
