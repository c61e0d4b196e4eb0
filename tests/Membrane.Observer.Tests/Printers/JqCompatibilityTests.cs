using System.Diagnostics;
using Membrane.Observer.Printers;

namespace Membrane.Observer.Tests.Printers;

/// <summary>Runs the real <c>jq</c> (Debian package, installed by scripts/bootstrap.sh) with scripts written for <c>hubble observe -o json</c>.</summary>
public sealed class JqCompatibilityTests
{
    private static readonly Lazy<string> Json = new(() =>
    {
        var output = new StringWriter { NewLine = "\n" };
        var printer = FlowPrinters.Create(OutputFormat.Json, output);
        foreach (var response in FlowSamples.All)
        {
            printer.Write(response);
        }

        return output.ToString();
    });

    [Theory]
    [InlineData("select(.flow.verdict == \"DROPPED\") | .flow.drop_reason_desc",
        "POLICY_DENIED\nPOLICY_DENIED\nPOLICY_DENIED\nPOLICY_DENY")]
    [InlineData("select(.flow.l7.http != null) | \"\\(.flow.l7.http.method) \\(.flow.l7.http.code // 0) \\(.flow.verdict)\"",
        "DELETE 0 DROPPED\nGET 0 FORWARDED\nGET 200 FORWARDED\nGET 0 ERROR")]
    [InlineData(".flow.ingress_denied_by[]? | \"\\(.namespace)/\\(.name) \\(.kind) rev \\(.revision)\"",
        "default/user-service-api-policy CiliumNetworkPolicy rev 7\ndefault/user-service-api-policy CiliumNetworkPolicy rev 7\nkafka/kafka-broker-policy CiliumNetworkPolicy rev 7")]
    [InlineData("select(.flow.ingress_denied_by[]?.labels | index([\"membrane:default-deny\"])) | .flow.uuid[-2:]",
        "01\n05\n07")]
    [InlineData("select(.flow.l4.TCP.destination_port == 80 and .flow.l4.TCP.flags.SYN) | .flow.source.pod_name // .flow.IP.source",
        "frontend-xyz-1\n203.0.113.9")]
    [InlineData("select(.flow.event_type.type == 4) | .flow.trace_observation_point",
        "TO_ENDPOINT\nFROM_ENDPOINT")]
    [InlineData("select(.lost_events) | .lost_events.num_events_lost | tonumber", "42")]
    [InlineData("[.flow.source.labels[]?] | map(select(startswith(\"reserved:\"))) | .[]", "reserved:world\nreserved:host")]
    [InlineData("select(.flow.l7.kafka) | .flow.l7.kafka | \"\\(.api_key) \\(.topic) \\(.error_code)\"", "produce orders-topic 29")]
    public async Task Hubble_jq_scripts_read_membrane_json(string script, string expected)
    {
        var start = new ProcessStartInfo("jq", ["-r", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var jq = Process.Start(start) ?? throw new InvalidOperationException("jq did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = jq.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = jq.StandardError.ReadToEndAsync(timeout.Token);
        await jq.StandardInput.WriteAsync(Json.Value.AsMemory(), timeout.Token);
        jq.StandardInput.Close();
        try
        {
            await jq.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!jq.HasExited)
            {
                jq.Kill();
            }
        }

        Assert.True(jq.ExitCode == 0, $"jq failed: {await stderr}");
        Assert.Equal(expected, (await stdout).TrimEnd('\n'));
    }
}
