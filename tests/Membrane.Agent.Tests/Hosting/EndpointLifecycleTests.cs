using System.Net;
using System.Text.Json;
using Membrane.Agent.Api;
using Membrane.Agent.Tests.Support;
using Membrane.Tests.Shared;
using Xunit.Abstractions;

namespace Membrane.Agent.Tests.Hosting;

/// <summary>
/// Endpoints over their life: created twice for the same pod (adopted, not duplicated), relabeled (a new identity that
/// policy follows at once), refused when they clash, deleted (programs detached, traffic unenforced); and a follower of
/// the flow stream sees new flows as they happen.
/// </summary>
public sealed class EndpointLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Adopting_relabeling_and_deleting_an_endpoint_takes_effect_in_the_kernel_at_once()
    {
        await using var lab = await AgentLab.StartAsync(output,
            [("frontend", "default", new() { ["app"] = "frontend" }), ("users", "default", new() { ["app"] = "users" }), ("other", "default", new() { ["app"] = "other" })]);
        await lab.ServeHttpAsync("users", 80);
        var users = lab["users"].Address;
        await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/", maxSeconds: 1.5)).Status);

        var other = lab["other"];
        var again = await lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "other", Namespace = "default", Labels = new Dictionary<string, string> { ["app"] = "other" },
            InterfaceName = other.Netns.HostInterface, IPv4 = other.Address.ToString(),
        });
        Assert.True(again.Adopted);
        Assert.Equal(other.Endpoint.Id, again.Id);
        Assert.Equal(other.Endpoint.Identity, again.Identity);
        Assert.Equal(3, (await lab.Client.ListEndpointsAsync()).Count);

        // Relabeled as a frontend: a new identity, which the users policy allows.
        var relabeled = await lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "other", Namespace = "default", Labels = new Dictionary<string, string> { ["app"] = "frontend", ["tier"] = "web" },
            InterfaceName = other.Netns.HostInterface, IPv4 = other.Address.ToString(),
        });
        Assert.True(relabeled.Adopted);
        Assert.NotEqual(other.Endpoint.Identity, relabeled.Identity);
        Assert.Contains("k8s:tier=web", relabeled.Labels);
        Assert.Equal("200", (await lab.CurlAsync("other", "GET", $"http://{users}/")).Status);

        var moved = await Assert.ThrowsAsync<AgentApiException>(() => lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "other", Namespace = "default", InterfaceName = lab["frontend"].Netns.HostInterface, IPv4 = "10.244.1.99",
        }));
        Assert.Equal(HttpStatusCode.Conflict, moved.Status);
        var taken = await Assert.ThrowsAsync<AgentApiException>(() => lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "copycat", Namespace = "default", InterfaceName = "nosuchveth", IPv4 = users.ToString(),
        }));
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);
        Assert.Contains("already belongs to endpoint 2 (default/users)", taken.Message);
        var invalid = await Assert.ThrowsAsync<AgentApiException>(() => lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "Bad_Name", Namespace = "default", InterfaceName = "x", IPv4 = "10.1",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal(2, invalid.Error.Errors.Count);
        var missing = await Assert.ThrowsAsync<AgentApiException>(() => lab.Client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = "ghost", Namespace = "default", InterfaceName = "nosuchveth", IPv4 = "10.244.1.77",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Contains("nosuchveth", missing.Message);
        Assert.Equal(3, (await lab.Client.ListEndpointsAsync()).Count);

        // Deleting users detaches its programs: its ingress policy no longer applies.
        var deleted = await lab.Client.DeleteEndpointAsync("default/users");
        Assert.Equal(2, deleted.Id);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{users}:80/")).Status);
        Assert.DoesNotContain(await lab.Client.ListEndpointsAsync(), e => e.PodName == "users");
        Assert.DoesNotContain(await lab.Client.ListIpcacheAsync(), e => e.Prefix == $"{users}/32");
    }

    [Fact]
    public async Task A_follower_of_the_flow_stream_sees_new_flows_as_they_happen()
    {
        await using var lab = await AgentLab.StartAsync(output,
            [("frontend", "default", new() { ["app"] = "frontend" }), ("users", "default", new() { ["app"] = "users" })]);
        await lab.ServeHttpAsync("users", 80);
        await lab.ImportAsync("users-api.yaml", TestPolicies.UserServiceApi);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new TaskCompletionSource<JsonElement>();
        var follower = Task.Run(async () =>
        {
            try
            {
                await foreach (var line in lab.Client.ObserveAsync(new ObserveRequest(["--follow", "--type", "l7", "--http-method", "DELETE"]), stop.Token))
                {
                    var flow = JsonDocument.Parse(line).RootElement.GetProperty("flow").Clone();
                    seen.TrySetResult(flow);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await Task.Delay(500);
        Assert.Equal("403", (await lab.CurlAsync("frontend", "DELETE", $"http://{lab["users"].Address}/api/v1/users/9")).Status);
        var first = await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("DROPPED", first.GetProperty("verdict").GetString());
        await stop.CancelAsync();
        await follower;
    }
}
