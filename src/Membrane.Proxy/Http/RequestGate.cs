using Membrane.Policy.L7.Http;
using Membrane.Policy.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Membrane.Proxy.Http;

/// <summary>The verdict on one HTTP request after both directions' rule sets were consulted.</summary>
/// <param name="Allowed">True if forwarded.</param>
/// <param name="DecidedBy">The policy that allowed it, or the first policy of the set that denied it.</param>
/// <param name="DeniedDirection">Which side's rules denied it.</param>
internal readonly record struct HttpDecision(bool Allowed, PolicyRef? DecidedBy, TrafficDirection? DeniedDirection);

/// <summary>
/// Evaluates a request against a connection's egress and ingress HTTP rule sets: when both apply, both must allow
/// (contracts.md). Method and path are compared exactly as received and checked (HTTP methods are case-sensitive).
/// </summary>
internal static class RequestGate
{
    /// <summary>Decides; header changes asked by matched <c>headerMatches</c> rules are appended to <paramref name="actions"/>.</summary>
    public static HttpDecision Decide(ConnectionPolicy policy, string method, ReadOnlySpan<char> path, ReadOnlySpan<char> host, IHeaderDictionary headers, List<HttpHeaderAction>? actions)
    {
        var view = new KestrelHeaderView(headers);
        return Decide(policy, method, path, host, ref view, actions);
    }

    /// <summary>Decides over any header store (the HTTP/2 engine's decoded header list).</summary>
    public static HttpDecision Decide<THeaders>(ConnectionPolicy policy, ReadOnlySpan<char> method, ReadOnlySpan<char> path, ReadOnlySpan<char> host, ref THeaders view, List<HttpHeaderAction>? actions)
        where THeaders : IHttpHeaderView, allows ref struct
    {
        PolicyRef? allowedBy = null;
        if (policy.HttpEgress is { } egress)
        {
            var v = egress.Evaluate(method, path, host, ref view, actions);
            if (!v.Allowed)
            {
                return new HttpDecision(false, Listener.EventFactory.FirstPolicy(egress), TrafficDirection.Egress);
            }

            allowedBy = v.DecidedBy;
        }

        if (policy.HttpIngress is { } ingress)
        {
            var v = ingress.Evaluate(method, path, host, ref view, actions);
            if (!v.Allowed)
            {
                return new HttpDecision(false, Listener.EventFactory.FirstPolicy(ingress), TrafficDirection.Ingress);
            }

            allowedBy = v.DecidedBy ?? allowedBy;
        }

        allowedBy ??= policy.L4DecidedBy.Count > 0 ? policy.L4DecidedBy[0] : null;
        return new HttpDecision(true, allowedBy, null);
    }

    /// <summary>Applies header changes of <c>headerMatches</c> mismatch actions (ADD, DELETE, REPLACE) to the request.</summary>
    public static void ApplyHeaderActions(IHeaderDictionary headers, List<HttpHeaderAction> actions)
    {
        foreach (var a in actions)
        {
            switch (a.Action)
            {
                case HeaderMismatchAction.Add:
                    headers[a.Name] = StringValues.Concat(headers[a.Name], a.Value);
                    break;
                case HeaderMismatchAction.Delete:
                    headers.Remove(a.Name);
                    break;
                case HeaderMismatchAction.Replace:
                    headers[a.Name] = a.Value;
                    break;
            }
        }
    }

    private readonly struct KestrelHeaderView(IHeaderDictionary headers) : IHttpHeaderView
    {
        public int Count(string name) => headers.TryGetValue(name, out var v) ? v.Count : 0;

        public ReadOnlySpan<char> Value(string name, int index) => headers.TryGetValue(name, out var v) ? v[index].AsSpan() : default;
    }
}
