using Membrane.Agent.Api;
using Membrane.Agent.State;

namespace Membrane.Agent.Tests.State;

/// <summary>The state file survives restarts: written atomically, root-only, and read back exactly; bad files are refused clearly.</summary>
public sealed class StateStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "membrane-state-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void A_saved_state_reads_back_equal_and_leaves_no_temporary_file()
    {
        var store = new StateStore(_dir);
        Assert.Null(store.Load());
        var state = new AgentState
        {
            PolicyRevision = 7,
            NextEndpointId = 4,
            Endpoints =
            [
                new EndpointState
                {
                    Id = 3, PodName = "users", Namespace = "default", Labels = new() { ["app"] = "users" }, InterfaceName = "mbh3", IPv4 = "10.244.1.20",
                    NamedPorts = [new NamedPortModel("http", 80, "TCP")], Created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
                },
            ],
            Identities = [new IdentityState(10616, ["k8s:app=users", "k8s:io.kubernetes.pod.namespace=default"])],
            Documents = [new PolicyDocumentState { Name = "users.yaml", Text = "kind: x\n", Revision = 7, Live = [new PolicyRefModel("CiliumNetworkPolicy", "default", "users")] }],
        };
        store.Save(state);
        store.Save(state with { PolicyRevision = 8 });

        var loaded = store.Load()!;
        Assert.Equal(8, loaded.PolicyRevision);
        Assert.Equal(4, loaded.NextEndpointId);
        var endpoint = Assert.Single(loaded.Endpoints);
        Assert.Equal(("users", "10.244.1.20", "users"), (endpoint.PodName, endpoint.IPv4, endpoint.Labels["app"]));
        Assert.Equal(new NamedPortModel("http", 80, "TCP"), Assert.Single(endpoint.NamedPorts));
        Assert.Equal(["k8s:app=users", "k8s:io.kubernetes.pod.namespace=default"], Assert.Single(loaded.Identities).Labels);
        Assert.Equal("users", Assert.Single(Assert.Single(loaded.Documents).Live).Name);
        Assert.Equal([StateStore.FileName], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir));
    }

    [Fact]
    public void A_corrupt_or_foreign_state_file_is_refused_with_its_path()
    {
        var store = new StateStore(_dir);
        File.WriteAllText(store.FilePath, "{\"version\": 1, \"endpoints\": [");
        var corrupt = Assert.Throws<InvalidDataException>(store.Load);
        Assert.Contains(store.FilePath, corrupt.Message);
        Assert.Contains("move it away", corrupt.Message);

        File.WriteAllText(store.FilePath, "{\"version\": 99}");
        var version = Assert.Throws<InvalidDataException>(store.Load);
        Assert.Contains("version 99", version.Message);
    }
}
