namespace Membrane.Agent.Tests.Support;

/// <summary>The policies the end-to-end tests import (the seed article's, and small L3/L4 ones).</summary>
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

    /// <summary>The seed article's policy: frontend GET /api/v1/users[/...], billing POST /api/v1/payments.</summary>
    public const string UserServiceApi = """
        apiVersion: "cilium.io/v2"
        kind: CiliumNetworkPolicy
        metadata:
          name: "user-service-api-policy"
          namespace: "default"
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
              rules:
                http:
                - method: "GET"
                  path: "/api/v1/users/?.*"
          - fromEndpoints:
            - matchLabels:
                app: billing
            toPorts:
            - ports:
              - port: "80"
                protocol: TCP
              rules:
                http:
                - method: "POST"
                  path: "/api/v1/payments"
        """;

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
}
