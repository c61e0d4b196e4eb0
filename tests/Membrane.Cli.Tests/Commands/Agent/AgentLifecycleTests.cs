using System.Text.Json;
using Membrane.Cli.Tests.Support;
using Membrane.Tests.Shared;
using Xunit.Abstractions;

namespace Membrane.Cli.Tests.Commands.Agent;

/// <summary>
/// The real binary through a policy change that is rejected, deletes, and an agent restart (SIGTERM, start again):
/// what the user sees at each step, and what the kernel enforces meanwhile.
/// </summary>
public sealed class AgentLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_rejected_import_prints_every_error_and_the_previous_revision_keeps_enforcing_across_a_restart()
    {
        await using var lab = await CliLab.StartAsync(output, ("frontend", "app=frontend"), ("users", "app=users"), ("other", "app=other"));
        await lab.ServeHttpAsync("users", 80);
        var (code, stdout, stderr) = await MembraneProcess.RunWithInputAsync(TestPolicies.UsersL4, "policy", "import", "-", "--instance", lab.Instance);
        Assert.True(code == 0, stderr);
        (code, stdout, stderr) = await lab.MembraneAsync("policy", "get");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("   <stdin>:1:1   ", stdout);

        var broken = lab.WritePolicy("broken.yaml", TestPolicies.Invalid);
        (code, stdout, stderr) = await lab.MembraneAsync("policy", "import", broken);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"{broken}:11:5: spec.ingress[0].fromEndpoint: ", lines[0]);
        Assert.StartsWith($"{broken}:20:17: spec.ingress[0].toPorts[0].rules.http[0].path: ", lines[1]);
        Assert.Contains("/api(", lines[1]);
        Assert.Equal("error: invalid: 2 error(s); nothing was applied", lines[2]);

        (code, stdout, _) = await lab.MembraneAsync("policy", "get", "-o", "json");
        Assert.Equal(0, code);
        var list = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(1, list.GetProperty("revision").GetInt64());
        Assert.Equal("users-l4", Assert.Single(list.GetProperty("policies").EnumerateArray()).GetProperty("policy").GetProperty("name").GetString());

        (code, _, stderr) = await lab.MembraneAsync("policy", "delete", "nope", "users-l4");
        Assert.Equal(1, code);
        Assert.Contains("no such policy: nope; nothing was deleted (revision 1 keeps enforcing)", stderr);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/", maxSeconds: 1.5)).Status);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", "http://10.244.1.12/")).Status);

        (code, var endpointsBefore, _) = await lab.MembraneAsync("endpoint", "list");
        Assert.Equal(0, code);

        // SIGTERM: a clean stop; the socket goes away, the kernel keeps enforcing.
        Assert.Equal(0, await lab.StopAgentAsync());
        (code, _, stderr) = await lab.MembraneAsync("status");
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/", maxSeconds: 1.5)).Status);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", "http://10.244.1.12/")).Status);

        await lab.StartAgentAsync();
        (code, var endpointsAfter, _) = await lab.MembraneAsync("endpoint", "list");
        Assert.Equal(0, code);
        Assert.Equal(endpointsBefore, endpointsAfter);
        (code, stdout, _) = await lab.MembraneAsync("policy", "get");
        Assert.Equal(0, code);
        Assert.StartsWith("Revision: 1\n", stdout);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/", maxSeconds: 1.5)).Status);

        (code, stdout, stderr) = await lab.MembraneAsync("policy", "delete", "users-l4");
        Assert.True(code == 0, stderr);
        Assert.Equal("deleted 1 policy: default/users-l4 (CiliumNetworkPolicy)\nrevision 2 is enforcing (1 endpoint updated)\n", stdout);
        Assert.Equal("200", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/")).Status);
    }

    [Fact]
    public async Task The_agent_refuses_to_start_with_a_missing_namespace_or_next_to_a_running_agent_of_its_instance()
    {
        var (code, _, stderr) = await MembraneProcess.RunAsync("agent", "--instance", "mcnone", "--node-netns", "/var/run/netns/mc-does-not-exist",
            "--state-dir", Path.Combine(Path.GetTempPath(), "membrane-cli-none"), "--metrics-address", "");
        Assert.Equal(1, code);
        Assert.Contains("error: the agent could not start: --node-netns /var/run/netns/mc-does-not-exist: no such network namespace", stderr);

        await using var lab = await CliLab.StartAsync(output, ("frontend", "app=frontend"));
        (code, _, stderr) = await MembraneProcess.RunAsync("agent", "--instance", lab.Instance, "--node-netns", lab.Node.Path, "--metrics-address", "");
        Assert.Equal(1, code);
        Assert.Contains($"another agent of instance {lab.Instance} is running", stderr);
        (code, _, _) = await lab.MembraneAsync("status");
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Monitor_selects_events_by_endpoint_and_type()
    {
        await using var lab = await CliLab.StartAsync(output, ("frontend", "app=frontend"), ("users", "app=users"), ("other", "app=other"));
        await lab.ServeHttpAsync("users", 80);
        var (code, _, stderr) = await lab.MembraneAsync("policy", "import", lab.WritePolicy("users-l4.yaml", TestPolicies.UsersL4));
        Assert.True(code == 0, stderr);

        using var related = lab.StartMembrane("monitor", "--related-to", "1", "--type", "policy-verdict");
        using var fromUsers = lab.StartMembrane("monitor", "--from", "2", "--type", "drop", "-o", "json");
        using var fromOther = lab.StartMembrane("monitor", "--from", "3", "--type", "drop");
        await related.WaitForLineAsync(l => l.StartsWith("Listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        await fromOther.WaitForLineAsync(l => l.StartsWith("Listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        await Task.Delay(500);

        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", "http://10.244.1.12/")).Status);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/", maxSeconds: 1.5)).Status);

        var verdict = await related.WaitForLineAsync(l => l.StartsWith("Policy verdict log", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var drop = await fromUsers.WaitForLineAsync(l => l.StartsWith('{'), TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        await related.StopAsync(TimeSpan.FromSeconds(5));
        await fromUsers.StopAsync(TimeSpan.FromSeconds(5));
        await fromOther.StopAsync(TimeSpan.FromSeconds(5));

        Assert.NotNull(verdict);
        Assert.Matches(@"^Policy verdict log: flow 0x[0-9a-f]+ local EP ID [12], remote ID \d+, proto 6, (ingress|egress), action allow, auth: disabled, match \S+, 10\.244\.1\.11:\d+ -> 10\.244\.1\.12:80 tcp SYN$", verdict);
        Assert.DoesNotContain(related.Stdout, l => l.Contains("10.244.1.13", StringComparison.Ordinal));

        Assert.NotNull(drop);
        var json = JsonDocument.Parse(drop).RootElement;
        Assert.Equal("drop", json.GetProperty("type").GetString());
        Assert.Contains(fromUsers.Stdout, l => l.Contains("10.244.1.13", StringComparison.Ordinal));

        // Endpoint 3 (other) sent the dropped SYN but the drop happened at users' ingress: it is users' event.
        Assert.DoesNotContain(fromOther.Stdout, l => l.StartsWith("xx drop", StringComparison.Ordinal));
    }
}
