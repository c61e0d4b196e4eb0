using System.Net;
using System.Runtime.InteropServices;
using Membrane.Policy.L7.Http;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Proxy;

// membrane-bench-proxy --listen 127.0.0.1:18111 --upstream 127.0.0.1:18081 [--policy http1|h2c]
//                      [--mode proxy|kestrel-fixed|client-load] [--seconds N] [--alloc-sample]
// Prints "ready <listen>" once listening; SIGUSR1 prints a stats line (events, allocated bytes, GCs, thread-pool work
// items, lock contentions: the System.Runtime event counters' sources); on SIGTERM/SIGINT prints it and exits.
// kestrel-fixed and client-load are the profile variants of bench/traffic/h2c-profile.sh (Variants.cs).
var listen = IPEndPoint.Parse(Arg("--listen", "127.0.0.1:18111"));
var upstream = IPEndPoint.Parse(Arg("--upstream", "127.0.0.1:18081"));
var policyName = Arg("--policy", "http1");
var mode = Arg("--mode", "proxy");
if (mode == "client-load")
{
    return await Variants.RunClientLoadAsync(upstream, 50, int.Parse(Arg("--seconds", "10"), System.Globalization.CultureInfo.InvariantCulture));
}
var benchPolicy = new PolicyRef("CiliumNetworkPolicy", "default", "user-service-api-policy");

// The shared harness's policy (policy_check.sh / h2c.sh gate): the seed's user-service rule shape, with the
// benchmark's path regex (the seed's "/api/v1/users/?.*" would also allow /api/v1/usersX, which the gate denies).
var rules = policyName == "h2c"
    ? HttpRuleSet.Compile([(new HttpRule(Method: "POST", Path: "/helloworld\\.Greeter/SayHello"), benchPolicy)])
    : HttpRuleSet.Compile([(new HttpRule(Method: "GET", Path: "/api/v1/users(/.*)?"), benchPolicy), (new HttpRule(Method: "POST", Path: "/api/v1/payments"), benchPolicy)]);
var source = new StaticPolicySource(rules, benchPolicy);
var sampler = args.Contains("--alloc-sample") ? new AllocationSampler() : null;
var sink = new CountingSink(sampler);
var options = new ProxyServerOptions();
await using var server = new ProxyServer(source, sink, options);
Microsoft.AspNetCore.Hosting.Server.IServer? fixedServer = null;
if (mode == "kestrel-fixed")
{
    fixedServer = await Variants.StartKestrelFixedAsync(listen, options.InlineScheduling);
}
else
{
    await server.AddExplicitListenerAsync(listen, upstream);
}

Console.WriteLine($"ready {listen} mode={mode} inline={options.InlineScheduling} server_gc={System.Runtime.GCSettings.IsServerGC}");

var stop = new TaskCompletionSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
using var usr = PosixSignalRegistration.Create((PosixSignal)10 /* SIGUSR1 */, c => { c.Cancel = true; sink.Report(); });
await stop.Task;
sink.Report();
if (fixedServer is not null)
{
    await fixedServer.StopAsync(CancellationToken.None);
}

return 0;

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>One source identity, one destination, the benchmark rules as ingress.</summary>
internal sealed class StaticPolicySource(HttpRuleSet rules, PolicyRef origin) : IProxyPolicySource
{
    private static readonly PeerInfo Frontend = new(1001, 1, "default", "frontend", LabelSet.Parse("app=frontend"));
    private static readonly PeerInfo Users = new(1002, 2, "default", "users", LabelSet.Parse("app=users"));

    public long Revision => 1;

    public ConnectionPolicy Resolve(ConnectionInfo connection) => new()
    {
        Revision = 1,
        Source = Frontend,
        Destination = Users,
        DestinationPort = connection.OriginalDestination.Port,
        L4Allowed = true,
        L4DecidedBy = [origin],
        Protocol = L7Protocol.Http,
        HttpIngress = rules,
    };
}

/// <summary>Flows and metrics on, as in production, at the cost of counting: one interlocked add per event.</summary>
internal sealed class CountingSink(AllocationSampler? sampler) : IL7EventSink
{
    private long _requests;
    private long _responses;
    private long _denied;
    private long _errors;

    public void Publish(in L7Event e)
    {
        switch (e.Kind)
        {
            case L7EventKind.HttpRequest:
                Interlocked.Increment(ref _requests);
                if (e.Verdict == L7Verdict.Denied)
                {
                    Interlocked.Increment(ref _denied);
                }

                break;
            case L7EventKind.HttpResponse:
                Interlocked.Increment(ref _responses);
                break;
            default:
                Interlocked.Increment(ref _errors);
                break;
        }
    }

    public void Report() =>
        Console.WriteLine($"stats requests={Volatile.Read(ref _requests) + RequestCount.Value} threadpool_items={ThreadPool.CompletedWorkItemCount} lock_contentions={Monitor.LockContentionCount} gc_pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F0} responses={Volatile.Read(ref _responses)} denied={Volatile.Read(ref _denied)} errors={Volatile.Read(ref _errors)} allocated_bytes={GC.GetTotalAllocatedBytes(precise: true)} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)}{(sampler is null ? "" : " top: " + sampler.Top(12))}");
}
