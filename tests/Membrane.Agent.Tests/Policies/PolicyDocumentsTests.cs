using Membrane.Agent.Api;
using Membrane.Agent.Policies;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Agent.Tests.Policies;

/// <summary>
/// The saved policy texts track which of their policies are still loaded, so a restart reloads exactly the live set
/// from the texts (with their file names and lines), and a policy's own text can be shown.
/// </summary>
public sealed class PolicyDocumentsTests
{
    private const string TwoPolicies = """
        # users and admin
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - {}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: admin
        spec:
          endpointSelector:
            matchLabels:
              app: admin
          ingress:
          - {}
        """;

    private const string UsersAgain = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users
        spec:
          endpointSelector:
            matchLabels:
              app: users
          egress:
          - {}
        """;

    [Fact]
    public void A_reimported_policy_moves_to_its_new_text_and_deleted_policies_are_forgotten()
    {
        var documents = new PolicyDocuments([]);
        var first = new PolicyDocument("set.yaml", TwoPolicies);
        documents.Replace(documents.AfterImport([first], Load(first), replaceAll: false, revision: 1));
        Assert.Equal(["admin", "users"], documents.Load().Select(p => p.Name).Order());

        var second = new PolicyDocument("users.yaml", UsersAgain);
        documents.Replace(documents.AfterImport([second], Load(second), replaceAll: false, revision: 2));
        var loaded = documents.Load();
        Assert.Equal(2, loaded.Count);
        var users = Assert.Single(loaded, p => p.Name == "users");
        Assert.Equal("users.yaml", users.Source.File);
        Assert.Equal("set.yaml", Assert.Single(loaded, p => p.Name == "admin").Source.File);
        Assert.Equal(2, documents.DocumentOf(users.Ref)!.Revision);

        documents.Replace(documents.AfterDelete(new HashSet<PolicyRef> { new("CiliumNetworkPolicy", "default", "admin") }));
        Assert.Equal("users.yaml", Assert.Single(documents.Documents).Name);

        documents.Replace(documents.AfterImport([first], Load(first), replaceAll: true, revision: 3));
        Assert.Equal("set.yaml", Assert.Single(documents.Documents).Name);
        Assert.Equal(2, documents.Load().Count);
    }

    [Fact]
    public void A_saved_text_that_no_longer_loads_is_reported_with_its_errors()
    {
        var documents = new PolicyDocuments([new Membrane.Agent.State.PolicyDocumentState
        {
            Name = "broken.yaml",
            Text = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\nspec: {bogus: 1}\n",
            Revision = 1,
            Live = [new PolicyRefModel("CiliumNetworkPolicy", "default", "x")],
        }]);
        var e = Assert.Throws<InvalidDataException>(() => documents.Load());
        Assert.Contains("broken.yaml:4:", e.Message);
    }

    [Fact]
    public void Each_policy_of_a_multi_document_text_has_its_own_slice()
    {
        var loaded = PolicyLoader.LoadText(TwoPolicies, "set.yaml").Policies;
        var users = PolicyDocuments.Slice(TwoPolicies, loaded.Single(p => p.Name == "users"), loaded);
        var admin = PolicyDocuments.Slice(TwoPolicies, loaded.Single(p => p.Name == "admin"), loaded);
        Assert.StartsWith("# users and admin\napiVersion: cilium.io/v2", users);
        Assert.Contains("name: users", users);
        Assert.DoesNotContain("name: admin", users);
        Assert.DoesNotContain("---", users);
        Assert.StartsWith("apiVersion: cilium.io/v2", admin);
        Assert.Contains("name: admin", admin);
        Assert.DoesNotContain("name: users", admin);
    }

    private static IReadOnlyList<PolicyResource> Load(PolicyDocument d) => PolicyLoader.LoadText(d.Text, d.Name).Policies;
}
