using System.Net;
using Membrane.Policy.L7.Http;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Proxy.Tests.Support;

/// <summary>
/// A real, small <see cref="IProxyPolicySource"/> for tests: HTTP rule sets compiled with <see cref="HttpRuleSet.Compile"/>
/// for one source and one destination identity; <see cref="Set"/> installs a new revision atomically.
/// </summary>
internal sealed class TestPolicySource : IProxyPolicySource
{
    public static readonly PolicyRef UsersPolicy = new("CiliumNetworkPolicy", "default", "user-service-api-policy");
    public static readonly PolicyRef CatalogPolicy = new("CiliumNetworkPolicy", "default", "catalog-grpc-policy");

    private State _state;

    public TestPolicySource(HttpRuleSet? ingress, HttpRuleSet? egress = null, bool l4Allowed = true, L7Protocol protocol = L7Protocol.Http) =>
        _state = new State(1, ingress, egress, l4Allowed, protocol);

    public long Revision => Volatile.Read(ref _state).Revision;

    public int Resolves;

    public ConnectionPolicy Resolve(ConnectionInfo connection)
    {
        Interlocked.Increment(ref Resolves);
        var s = Volatile.Read(ref _state);
        return new ConnectionPolicy
        {
            Revision = s.Revision,
            Source = new PeerInfo(1001, 1, "default", "frontend", LabelSet.Parse("app=frontend")),
            Destination = new PeerInfo(1002, 2, "default", "users", LabelSet.Parse("app=users")),
            DestinationPort = connection.OriginalDestination.Port,
            L4Allowed = s.L4Allowed,
            L4DecidedBy = [UsersPolicy],
            Protocol = s.Protocol,
            HttpIngress = s.Ingress,
            HttpEgress = s.Egress,
        };
    }

    public void Set(HttpRuleSet? ingress, HttpRuleSet? egress = null, bool l4Allowed = true, L7Protocol protocol = L7Protocol.Http)
    {
        var old = Volatile.Read(ref _state);
        Volatile.Write(ref _state, new State(old.Revision + 1, ingress, egress, l4Allowed, protocol));
    }

    /// <summary>The seed's user-service rules as the benchmark writes them: GET on /api/v1/users[/...], POST /api/v1/payments.</summary>
    public static HttpRuleSet UsersRules() => HttpRuleSet.Compile([
        (new HttpRule(Method: "GET", Path: "/api/v1/users(/.*)?"), UsersPolicy),
        (new HttpRule(Method: "POST", Path: "/api/v1/payments"), UsersPolicy),
    ]);

    /// <summary>The seed's catalog rule for reco: only GetProduct (plus the streaming methods for the call-shape tests).</summary>
    public static HttpRuleSet CatalogRules() => HttpRuleSet.Compile([
        (new HttpRule(Method: "POST", Path: "/com.example.catalog.ProductService/(GetProduct|ListProducts|ImportProducts|WatchStock)"), CatalogPolicy),
    ]);

    private sealed record State(long Revision, HttpRuleSet? Ingress, HttpRuleSet? Egress, bool L4Allowed, L7Protocol Protocol);
}

/// <summary>Collects every event, in order.</summary>
internal sealed class RecordingSink : IL7EventSink
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<L7Event> _events = new();

    public IReadOnlyList<L7Event> Events => [.. _events];

    public void Publish(in L7Event e) => _events.Enqueue(e);

    /// <summary>Waits until an event matching <paramref name="predicate"/> arrived (events of a response may trail the bytes).</summary>
    public L7Event WaitFor(Func<L7Event, bool> predicate, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            foreach (var e in _events)
            {
                if (predicate(e))
                {
                    return e;
                }
            }

            Thread.Sleep(10);
        }

        throw new Xunit.Sdk.XunitException($"no matching event; got: {string.Join(" | ", _events.Select(e => $"{e.Kind} {e.Verdict} {e.HttpMethod} {e.HttpUrl} {e.HttpStatus} {e.Detail}"))}");
    }
}
