using Membrane.Cli.Tests.Support;
using Xunit.Abstractions;

namespace Membrane.Cli.Tests.Commands.Agent;

/// <summary>
/// The seed's gRPC pattern through the agent: the catalog service (h2c) in a pod, the real gRPC client
/// (<c>membrane workload grpc-call</c>) in others, the seed's catalog-grpc-policy: one RPC allowed per caller, the other
/// answered PERMISSION_DENIED by the proxy, and the flows.
/// </summary>
public sealed class GrpcScenarioTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Each_caller_gets_only_its_rpc()
    {
        await using var lab = await CliLab.StartAsync(output, ("reco", "app=reco"), ("inventory", "app=inventory"), ("catalog", "app=catalog"));
        await lab.ServeGrpcAsync("catalog", 50051);
        var (code, _, stderr) = await lab.MembraneAsync("policy", "import", Path.Combine(Golden.RepositoryRoot, "examples", "seed", "catalog-grpc-policy.yaml"));
        Assert.True(code == 0, stderr);

        var get = await Call(lab, "reco", "GetProduct");
        Assert.True(get.Code == 0, get.Stdout + get.Stderr);
        Assert.StartsWith("OK", get.Stdout);
        var update = await Call(lab, "reco", "UpdateStock");
        Assert.Equal("PERMISSION_DENIED: Access denied", update.Stdout.Trim());
        Assert.Equal(7, update.Code);
        Assert.StartsWith("OK", (await Call(lab, "inventory", "UpdateStock")).Stdout);
        Assert.Equal("PERMISSION_DENIED: Access denied", (await Call(lab, "inventory", "GetProduct")).Stdout.Trim());

        (code, var stdout, _) = await lab.MembraneAsync("observe", "--from-pod", "default/reco", "--type", "l7", "--verdict", "DROPPED", "--last", "1");
        Assert.Equal(0, code);
        Assert.Contains("http-request DROPPED (HTTP/2 POST http://", stdout);
        Assert.Contains("/com.example.catalog.ProductService/UpdateStock)", stdout);
    }

    private static Task<(int Code, string Stdout, string Stderr)> Call(CliLab lab, string pod, string method) =>
        lab.InPodAsync(pod, TimeSpan.FromSeconds(30), null, "dotnet", MembraneProcess.Dll, "workload", "grpc-call", "--target", "10.244.1.13:50051", "--method", method);
}
