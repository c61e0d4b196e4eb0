using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Membrane.Agent.Hosting;
using Membrane.Datapath;

namespace Membrane.Cli.Commands.Agent;

/// <summary>
/// <c>membrane agent [--instance NAME] [--node-netns PATH] [--state-dir DIR] [--flow-buffer N] ...</c>: runs the agent
/// in the foreground until SIGINT or SIGTERM. Stopping it leaves the kernel enforcing; starting it again restores the
/// state. Exit 1 when it cannot start (the reason on stderr).
/// </summary>
internal static class AgentCommand
{
    public static Command Build()
    {
        var nodeNetns = new Option<string?>("--node-netns") { Description = "The node network namespace to enforce (/var/run/netns/NAME); default: the agent's own." };
        var stateDir = new Option<string?>("--state-dir") { Description = "Where state survives restarts (default /var/lib/membrane/INSTANCE)." };
        var flowBuffer = new Option<int>("--flow-buffer") { Description = "Flows kept in the flow buffer.", DefaultValueFactory = _ => 4095 };
        var httpPort = new Option<int>("--http-proxy-port") { Description = "HTTP/gRPC proxy port.", DefaultValueFactory = _ => ProxyPorts.DefaultHttp };
        var kafkaPort = new Option<int>("--kafka-proxy-port") { Description = "Kafka proxy port.", DefaultValueFactory = _ => ProxyPorts.DefaultKafka };
        var metrics = new Option<string>("--metrics-address") { Description = "Where /metrics is served, in the host's network namespace (\"\" disables; port 0 picks one).", DefaultValueFactory = _ => "127.0.0.1:9962" };
        var enablePolicy = new Option<string>("--enable-policy") { Description = "Policy enforcement mode: default, always or never.", DefaultValueFactory = _ => "default" };
        enablePolicy.AcceptOnlyFromAmong("default", "always", "never");
        var traceEvents = new Option<string>("--trace-events") { Description = "Trace events: none, flows (new connections and state changes) or all (every packet).", DefaultValueFactory = _ => "flows" };
        traceEvents.AcceptOnlyFromAmong("none", "flows", "all");
        var verdictEvents = new Option<bool>("--policy-verdict-events") { Description = "A policy-verdict event per policy decision.", DefaultValueFactory = _ => true };
        var eventBuffer = new Option<int>("--event-buffer-bytes") { Description = "Kernel event ring buffer size (power of two; keep it across restarts).", DefaultValueFactory = _ => 1 << 20 };
        var eventQueue = new Option<int>("--event-queue") { Description = "Kernel events queued for flow building; a burst beyond it is counted as lost.", DefaultValueFactory = _ => 65536 };
        var conntrack = new Option<int>("--conntrack-capacity") { Description = "Conntrack entries (keep it across restarts).", DefaultValueFactory = _ => DatapathOptions.DefaultConntrackCapacity };
        var gcInterval = new Option<int>("--conntrack-gc-interval") { Description = "Seconds between conntrack garbage collections.", DefaultValueFactory = _ => 60 };
        var nodeName = new Option<string?>("--node-name") { Description = "Node name carried by flows (default: the instance name)." };
        var command = new Command("agent", "Run the Membrane agent in the foreground (datapath, proxy, policies, flows, API).");
        foreach (var o in new Option[] { nodeNetns, stateDir, flowBuffer, httpPort, kafkaPort, metrics, enablePolicy, traceEvents, verdictEvents, eventBuffer, eventQueue, conntrack, gcInterval, nodeName })
        {
            command.Options.Add(o);
        }

        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            IPEndPoint? metricsAddress = null;
            var metricsText = parse.GetValue(metrics) ?? "";
            if (metricsText.Length > 0 && !IPEndPoint.TryParse(metricsText, out metricsAddress))
            {
                error.WriteLine($"error: --metrics-address {metricsText}: expected ADDRESS:PORT, e.g. 127.0.0.1:9962");
                return 2;
            }

            foreach (var (flag, value) in new[] { ("--http-proxy-port", parse.GetValue(httpPort)), ("--kafka-proxy-port", parse.GetValue(kafkaPort)) })
            {
                if (value is < 1 or > 65535)
                {
                    error.WriteLine($"error: {flag} {value}: expected 1-65535");
                    return 2;
                }
            }

            var options = new AgentOptions
            {
                Instance = parse.GetValue(AgentCall.Instance) ?? Environment.GetEnvironmentVariable(AgentPaths.InstanceVariable) ?? AgentPaths.DefaultInstance,
                NodeNamespacePath = parse.GetValue(nodeNetns),
                StateDirectory = parse.GetValue(stateDir),
                FlowBufferCapacity = parse.GetValue(flowBuffer),
                HttpProxyPort = (ushort)parse.GetValue(httpPort),
                KafkaProxyPort = (ushort)parse.GetValue(kafkaPort),
                MetricsAddress = metricsAddress,
                PolicyEnforcement = parse.GetValue(enablePolicy)!,
                TraceEvents = parse.GetValue(traceEvents) switch
                {
                    "none" => TraceEventLevel.None,
                    "all" => TraceEventLevel.AllPackets,
                    _ => TraceEventLevel.NewFlowsAndStateChanges,
                },
                PolicyVerdictEvents = parse.GetValue(verdictEvents),
                EventBufferBytes = parse.GetValue(eventBuffer),
                EventQueueCapacity = Math.Max(1, parse.GetValue(eventQueue)),
                ConntrackCapacity = parse.GetValue(conntrack),
                ConntrackGcInterval = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(gcInterval))),
                NodeName = parse.GetValue(nodeName),
            };
            var log = new AgentLog(error);
            if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") != "1")
            {
                log.Warn("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 is not set: the proxy runs socket continuations on the thread pool (slower)");
            }

            // SIGTERM (the lab, systemd, kill) and SIGINT stop the agent cleanly; the kernel keeps enforcing.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            AgentHost host;
            try
            {
                host = await AgentHost.StartAsync(options, log, stop.Token).ConfigureAwait(false);
            }
            catch (AgentStartException e)
            {
                error.WriteLine($"error: the agent could not start: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException)
            {
                return 1;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            log.Info("stopping (the kernel keeps enforcing the current policy)");
            await host.DisposeAsync().ConfigureAwait(false);
            log.Info("stopped");
            return 0;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }
}
