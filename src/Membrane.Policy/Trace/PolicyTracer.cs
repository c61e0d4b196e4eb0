using System.Globalization;
using System.Text;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Policy.Trace;

/// <summary>
/// Explains a verdict offline (what <c>cilium policy trace</c> never fully did, reference §8 #18): loads the policies
/// into a private <see cref="PolicyRepository"/>, places the two peers in it, and evaluates both enforcement points
/// with the same lookup the datapath uses: the source's egress and the destination's ingress, each with the rule
/// that decided or the policies that put it into default deny (§8 #14), and the L7 verdict when a request is given.
/// </summary>
public static class PolicyTracer
{
    private const ushort SourceEndpointId = 1;
    private const ushort DestinationEndpointId = 2;

    /// <summary>
    /// Traces <paramref name="request"/> against <paramref name="policies"/>. Throws <see cref="ArgumentException"/>
    /// for an impossible request and <see cref="PolicyCompileException"/> for policies that cannot be compiled.
    /// </summary>
    public static TraceResult Trace(IReadOnlyList<PolicyResource> policies, TraceRequest request)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Source.IsEndpoint && request.Source.Address is null)
        {
            throw new ArgumentException("the source needs labels or an address", nameof(request));
        }

        if (!request.Destination.IsEndpoint && request.Destination.Address is null)
        {
            throw new ArgumentException("the destination needs labels or an address", nameof(request));
        }

        if (!request.Source.IsEndpoint && !request.Destination.IsEndpoint)
        {
            throw new ArgumentException("at least one side must be a workload (labels): no policy applies between two addresses", nameof(request));
        }

        var ipCache = new InMemoryIpCache();
        var repository = new PolicyRepository(new LocalIdentityAllocator(), ipCache);
        var update = repository.ReplaceAll(policies);
        Place(repository, request.Source, SourceEndpointId, "client");
        Place(repository, request.Destination, DestinationEndpointId, "server");
        var source = Party(repository, ipCache, request.Source, SourceEndpointId);
        var destination = Party(repository, ipCache, request.Destination, DestinationEndpointId);

        var egress = request.Source.IsEndpoint
            ? Side(repository.GetEndpointPolicy(SourceEndpointId)!, TrafficDirection.Egress, source.Name, destination.Identity, request)
            : null;
        var ingress = request.Destination.IsEndpoint
            ? Side(repository.GetEndpointPolicy(DestinationEndpointId)!, TrafficDirection.Ingress, destination.Name, source.Identity, request)
            : null;
        var allowed = (egress?.Allows ?? true) && (ingress?.Allows ?? true);
        return new TraceResult(
            allowed ? TraceVerdict.Allowed : TraceVerdict.Denied,
            source,
            destination,
            request.Protocol,
            request.Port,
            egress,
            ingress,
            update.Warnings);
    }

    private static void Place(PolicyRepository repository, TracePeer peer, ushort id, string podName)
    {
        if (peer.Labels is { } labels)
        {
            repository.UpsertEndpoint(new EndpointInfo(id, peer.PodName ?? podName, peer.Namespace, labels, peer.Address, peer.NamedPorts)
            {
                NamespaceLabels = peer.NamespaceLabels,
                ServiceAccount = peer.ServiceAccount,
            });
        }
    }

    private static TraceParty Party(PolicyRepository repository, IIpCache ipCache, TracePeer peer, ushort id)
    {
        if (peer.IsEndpoint)
        {
            var ep = repository.GetEndpointPolicy(id)!;
            var name = $"{peer.Namespace}/{peer.PodName ?? peer.Labels!.ToString()}" + (peer.Address is null ? "" : $" ({peer.Address})");
            return new TraceParty(name, ep.Identity, ep.Endpoint.IdentityLabels, true);
        }

        var identity = ipCache.Lookup(peer.Address!);
        repository.TryGetIdentityLabels(identity, out var identityLabels);
        return new TraceParty(peer.Address!.ToString(), identity, identityLabels, false);
    }

    private static TraceSide Side(EndpointPolicy policy, TrafficDirection direction, string name, NumericIdentity peer, TraceRequest request)
    {
        var dir = policy[direction];
        var lookup = dir.Lookup(peer.Value, request.Protocol, request.Port);
        var rules = lookup.Matched is { } m ? policy.Explain(m.Key) : [];
        L7Trace? l7 = null;
        if (lookup.Verdict == LookupVerdict.Redirected)
        {
            l7 = lookup.Matched!.Value.Value.L7 == L7Protocol.Kafka
                ? Kafka(policy.GetKafkaRules(direction, peer, request.Protocol, request.Port)!, request.Kafka)
                : Http(policy.GetHttpRules(direction, peer, request.Protocol, request.Port)!, request.Http);
        }

        return new TraceSide(
            direction,
            name,
            dir.Enforced,
            dir.DefaultDenyBy,
            lookup.Verdict,
            lookup.DropReason,
            lookup.Matched?.Key,
            lookup.Matched?.Value,
            rules,
            l7);
    }

    private static L7Trace Http(HttpRuleSet rules, HttpTraceRequest? request)
    {
        if (request is null)
        {
            return new L7Trace(L7Protocol.Http, rules.Policies, false, null, null,
                $"{rules.Count} HTTP rule(s) decide each request; give --http-method and --http-path to evaluate one");
        }

        var headers = new HeaderList(request.Headers);
        var verdict = rules.Evaluate(request.Method, request.Path, request.Host, ref headers);
        var what = $"{request.Method} {request.Path}" + (request.Host.Length > 0 ? $" (host {request.Host})" : "");
        if (!verdict.Allowed)
        {
            return new L7Trace(L7Protocol.Http, rules.Policies, true, false, null,
                $"{what}: no HTTP rule matches: 403 Access denied (gRPC: PERMISSION_DENIED)");
        }

        var rule = rules.Rules.ElementAt(verdict.RuleIndex).Rule;
        return new L7Trace(L7Protocol.Http, rules.Policies, true, true, verdict.DecidedBy,
            $"{what}: allowed by {verdict.DecidedBy} rule {Describe(rule)}");
    }

    private static L7Trace Kafka(KafkaRuleSet rules, KafkaTraceRequest? request)
    {
        if (request is null || (request.Role is null && request.ApiKey is null))
        {
            return new L7Trace(L7Protocol.Kafka, rules.Policies, false, null, null,
                $"{rules.Count} Kafka rule(s) decide each request; give --kafka-role or --kafka-api-key to evaluate one");
        }

        var keys = request.Role?.ToLowerInvariant() switch
        {
            "produce" => KafkaApiKeys.ProduceRole,
            "consume" => KafkaApiKeys.ConsumeRole,
            null => [ApiKey(request.ApiKey!)],
            _ => throw new ArgumentException($"unknown Kafka role \"{request.Role}\" (expected produce or consume)", nameof(request)),
        };
        var clientId = Encoding.UTF8.GetBytes(request.ClientId ?? "");
        var topics = new TopicList(request.Topic is null ? [] : [Encoding.UTF8.GetBytes(request.Topic)]);
        var version = request.ApiVersion ?? -1;
        var denied = new List<string>();
        PolicyRef? decidedBy = null;
        foreach (var key in keys)
        {
            var v = rules.Evaluate(key, version, clientId, ref topics);
            if (!v.Allowed)
            {
                denied.Add(ApiKeyName(key));
            }
            else
            {
                decidedBy ??= v.DecidedBy;
            }
        }

        var what = (request.Role is { } role ? $"role {role} ({string.Join(", ", keys.Select(ApiKeyName))})" : ApiKeyName(keys[0]))
            + (request.Topic is { } t ? $" on topic {t}" : "")
            + (request.ClientId is { } c ? $" as client {c}" : "");
        return denied.Count == 0
            ? new L7Trace(L7Protocol.Kafka, rules.Policies, true, true, decidedBy, $"{what}: allowed by {decidedBy}")
            : new L7Trace(L7Protocol.Kafka, rules.Policies, true, false, null,
                $"{what}: {string.Join(", ", denied)} not allowed: TOPIC_AUTHORIZATION_FAILED (29)");
    }

    private static short ApiKey(string text)
    {
        if (short.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return KafkaApiKeys.ByName.TryGetValue(text, out var key)
            ? key
            : throw new ArgumentException($"unknown Kafka API key \"{text}\"", nameof(text));
    }

    private static string ApiKeyName(short key) =>
        KafkaApiKeys.ByName.FirstOrDefault(kv => kv.Value == key).Key ?? key.ToString(CultureInfo.InvariantCulture);

    private static string Describe(HttpRule rule)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(rule.Method))
        {
            parts.Add($"method {rule.Method}");
        }

        if (!string.IsNullOrEmpty(rule.Path))
        {
            parts.Add($"path {rule.Path}");
        }

        if (!string.IsNullOrEmpty(rule.Host))
        {
            parts.Add($"host {rule.Host}");
        }

        parts.AddRange((rule.Headers ?? []).Select(h => $"header \"{h}\""));
        parts.AddRange((rule.HeaderMatches ?? []).Select(h => $"headerMatch {h.Name}"));
        return parts.Count == 0 ? "(any request)" : string.Join(", ", parts);
    }

    private readonly struct HeaderList(IReadOnlyList<KeyValuePair<string, string>> headers) : IHttpHeaderView
    {
        public int Count(string name) => headers.Count(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));

        public ReadOnlySpan<char> Value(string name, int index) =>
            headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).ElementAt(index).Value;
    }

    private readonly struct TopicList(byte[][] topics) : IKafkaTopicList
    {
        public int Count => topics.Length;

        public ReadOnlySpan<byte> this[int index] => topics[index];
    }
}
