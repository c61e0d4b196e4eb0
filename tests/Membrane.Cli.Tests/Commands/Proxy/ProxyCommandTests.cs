using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Membrane.Cli.Tests.Commands.Policy;

namespace Membrane.Cli.Tests.Commands.Proxy;

/// <summary>
/// <c>membrane proxy</c> end to end on loopback with the real binary, real workloads and real clients (curl, kcat):
/// the seed's policies enforced in explicit mode, for HTTP and for Kafka (broker addresses rewritten to the proxy).
/// </summary>
public sealed class ProxyCommandTests
{
    private sealed class Running(Process process) : IDisposable
    {
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        public Process Process { get; } = process;

        public string Stdout
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        public void Start()
        {
            Process.OutputDataReceived += (_, e) => { lock (_stdout) { _stdout.AppendLine(e.Data); } };
            Process.ErrorDataReceived += (_, e) => { lock (_stderr) { _stderr.AppendLine(e.Data); } };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }

            Process.Dispose();
        }
    }

    private static string Membrane => Path.Combine(CliRunner.RepoRoot, "artifacts", "bin", "Membrane.Cli",
        AppContext.BaseDirectory.Contains("/debug/", StringComparison.Ordinal) ? "debug" : "release", "membrane");

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static Running Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        var r = new Running(Process.Start(psi)!);
        r.Start();
        return r;
    }

    private static void WaitListening(int port, Running owner)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(owner.Process.HasExited, $"exited early: {owner.Stderr}");
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        Assert.Fail($"nothing listens on {port}: {owner.Stderr}");
    }

    private static (int Code, string Stdout, string Stderr) Run(string? stdin, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin ?? "");
        p.StandardInput.Close();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish");
        }

        return (p.ExitCode, o.Result, e.Result);
    }

    private static string Seed(string file) => Path.Combine(CliRunner.RepoRoot, "examples", "seed", file);

    [Fact]
    public void HttpRulesOfTheDestinationAreEnforcedPerRequest()
    {
        var (server, proxy) = (FreePort(), FreePort());
        using var workload = Start(Membrane, "workload", "http", "--listen", $"127.0.0.1:{server}");
        WaitListening(server, workload);
        using var membrane = Start(Membrane, "proxy", "-f", Seed("user-service-api-policy.yaml"), "--listen", $"127.0.0.1:{proxy}",
            "--upstream", $"127.0.0.1:{server}", "--src", "app=frontend", "--dst", "app=users", "--dport", "80");
        WaitListening(proxy, membrane);

        var get = Run(null, "curl", "-s", "-m", "10", "-w", "\n%{http_code}", $"http://127.0.0.1:{proxy}/api/v1/users/123");
        Assert.EndsWith("\n200", get.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"id\":\"123\"", get.Stdout, StringComparison.Ordinal);
        var delete = Run(null, "curl", "-s", "-m", "10", "-X", "DELETE", "-w", "\n%{http_code}", $"http://127.0.0.1:{proxy}/api/v1/users/123");
        Assert.Equal("Access denied\r\n\n403", delete.Stdout);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!membrane.Stdout.Contains("DELETE", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        Assert.Contains("L7 HTTP/1.1 and h2c (gRPC) rules of the destination's ingress", membrane.Stderr, StringComparison.Ordinal);
        Assert.Contains("http-request FORWARDED (HTTP/1.1 GET", membrane.Stdout, StringComparison.Ordinal);
        Assert.Contains("http-request DROPPED (HTTP/1.1 DELETE", membrane.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AClientTheL3L4PolicyDeniesIsClosedAtOnce()
    {
        var (server, proxy) = (FreePort(), FreePort());
        using var workload = Start(Membrane, "workload", "http", "--listen", $"127.0.0.1:{server}");
        WaitListening(server, workload);
        using var membrane = Start(Membrane, "proxy", "-f", Seed("user-service-api-policy.yaml"), "--listen", $"127.0.0.1:{proxy}",
            "--upstream", $"127.0.0.1:{server}", "--src", "app=intruder", "--dst", "app=users", "--dport", "80");
        WaitListening(proxy, membrane);
        var get = Run(null, "curl", "-s", "-m", "10", "-w", "%{http_code}", $"http://127.0.0.1:{proxy}/api/v1/users/123");
        Assert.NotEqual(0, get.Code);
        Assert.Equal("000", get.Stdout);
        Assert.Contains("L3/L4: DENIED (default/user-service-api-policy (CiliumNetworkPolicy))", membrane.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void KafkaTopicRulesAreEnforcedAndBrokerAddressesPointAtTheProxy()
    {
        var (broker, proxy) = (FreePort(), FreePort());
        using var kafka = Start(Membrane, "workload", "kafka", "--listen", $"127.0.0.1:{broker}", "--topic", "orders-topic");
        WaitListening(broker, kafka);
        string[] Proxy(string src) =>
        [
            "proxy", "-f", Seed("kafka-broker-policy.yaml"), "--listen", $"127.0.0.1:{proxy}", "--upstream", $"127.0.0.1:{broker}",
            "--src", src, "--dst", "app=kafka-broker", "--src-namespace", "kafka", "--dst-namespace", "kafka", "--dport", "9092",
        ];

        var message = $"order-{Guid.NewGuid():N}";
        using (var orders = Start(Membrane, Proxy("app=orders")))
        {
            WaitListening(proxy, orders);
            var produce = Run(message + "\n", "kcat", "-P", "-b", $"127.0.0.1:{proxy}", "-t", "orders-topic");
            Assert.True(produce.Code == 0, produce.Stderr);
            var consume = Run(null, "kcat", "-C", "-b", $"127.0.0.1:{proxy}", "-t", "orders-topic", "-o", "beginning", "-e", "-q");
            Assert.Contains("Topic authorization failed", consume.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(message, consume.Stdout, StringComparison.Ordinal);
        }

        using var shipping = Start(Membrane, Proxy("app=shipping"));
        WaitListening(proxy, shipping);
        var denied = Run("nope\n", "kcat", "-P", "-b", $"127.0.0.1:{proxy}", "-t", "orders-topic");
        Assert.Contains("Topic authorization failed", denied.Stderr, StringComparison.Ordinal);
        var read = Run(null, "kcat", "-C", "-b", $"127.0.0.1:{proxy}", "-t", "orders-topic", "-o", "beginning", "-e", "-q");
        Assert.Contains(message, read.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("nope", read.Stdout, StringComparison.Ordinal);
    }
}
