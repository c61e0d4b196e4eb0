namespace Membrane.Tests.Shared;

/// <summary>
/// The policies the end-to-end tests of the agent and the CLI import (the seed article's, and small ones); compiled into
/// both test projects (tests/Shared).
/// </summary>
internal static class TestPolicies
{
    /// <summary>L3/L4 only: frontend may reach users on TCP 80 and 9000; nothing else reaches users.</summary>
    public const string UsersL4 = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users-l4
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: frontend
            toPorts:
            - ports:
              - port: "80"
                protocol: TCP
              - port: "9000"
                protocol: TCP
        """;

    /// <summary>
    /// The seed article's policy, read from <c>examples/seed/user-service-api-policy.yaml</c>: frontend GET
    /// /api/v1/users[/...], billing POST /api/v1/payments.
    /// </summary>
    public static string UserServiceApi { get; } = File.ReadAllText(Path.Combine(RepositoryRoot(), "examples", "seed", "user-service-api-policy.yaml"));

    /// <summary>A policy with a field error (line 10 <c>fromEndpoint</c>) and an invalid regex.</summary>
    public const string Invalid = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: broken
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoint:
            - matchLabels:
                app: other
            toPorts:
            - ports:
              - port: "80"
                protocol: TCP
              rules:
                http:
                - path: "/api("
        """;

    private static string RepositoryRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Membrane.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new DirectoryNotFoundException("Membrane.slnx not found above the test binaries");
    }
}
