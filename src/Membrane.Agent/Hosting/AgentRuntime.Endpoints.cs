using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Membrane.Agent.Api;
using Membrane.Agent.Policies;
using Membrane.Agent.State;
using Membrane.Datapath;
using Membrane.Datapath.Netns;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Agent.Hosting;

/// <summary>Endpoints: create or adopt, list, get, delete.</summary>
internal sealed partial class AgentRuntime
{
    private const int MaxLabels = 64;

    public EndpointModel CreateEndpoint(EndpointCreateRequest request)
    {
        var wanted = Validate(request);
        lock (_gate)
        {
            ThrowIfDisposed();
            var existing = _endpoints.Values.FirstOrDefault(e => e.Namespace == wanted.Namespace && e.PodName == wanted.PodName);
            if (existing is not null)
            {
                return Adopt(existing, wanted);
            }

            if (_endpoints.Values.FirstOrDefault(e => e.IPv4 == wanted.IPv4 || e.InterfaceName == wanted.InterfaceName) is { } clash)
            {
                throw ApiProblem.Conflict(clash.IPv4 == wanted.IPv4
                    ? $"address {wanted.IPv4} already belongs to endpoint {clash.Id} ({clash.Namespace}/{clash.PodName})"
                    : $"interface {wanted.InterfaceName} already belongs to endpoint {clash.Id} ({clash.Namespace}/{clash.PodName})");
            }

            var id = AllocateEndpointId();
            var state = wanted with { Id = id, Created = DateTimeOffset.UtcNow };
            RefreshHostAddresses();
            var update = _repository.UpsertEndpoint(EndpointInfoOf(state));
            var policy = _repository.GetEndpointPolicy(id)!;
            try
            {
                _datapath.AddEndpoint(id, state.InterfaceName, policy.Identity, IPAddress.Parse(state.IPv4), policy.Entries);
            }
            catch (Exception e) when (e is DatapathException or ArgumentException)
            {
                if (_repository.RemoveEndpoint(id) is { } undo)
                {
                    ApplyDeltas(undo.Deltas);
                }

                _pendingIpcache.Clear();
                throw ApiProblem.BadRequest($"endpoint for {state.Namespace}/{state.PodName} on {state.InterfaceName}: {e.Message}");
            }

            _endpoints[id] = state;
            _endpointStatus[id] = "ready";
            ApplyDeltas(update.Deltas.Where(d => d.EndpointId != id));
            FlushIpcache();
            Publish();
            _log.Info($"endpoint {id} created for {state.Namespace}/{state.PodName} ({state.IPv4} on {state.InterfaceName}, identity {policy.Identity})");
            return Model(id, adopted: false);
        }
    }

    public IReadOnlyList<EndpointModel> ListEndpoints()
    {
        lock (_gate)
        {
            var attached = _datapath.Endpoints.ToDictionary(e => e.Id);
            return [.. _endpoints.Keys.Order().Select(id => Model(id, adopted: false, attached))];
        }
    }

    public EndpointModel GetEndpoint(string idOrPod)
    {
        lock (_gate)
        {
            return Model(FindEndpoint(idOrPod), adopted: false);
        }
    }

    public EndpointModel DeleteEndpoint(string idOrPod)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var id = FindEndpoint(idOrPod);
            var model = Model(id, adopted: false);
            var update = _repository.RemoveEndpoint(id);
            _datapath.RemoveEndpoint(id);
            _endpoints.Remove(id);
            _endpointStatus.Remove(id);
            if (update is not null)
            {
                ApplyDeltas(update.Deltas);
            }

            FlushIpcache();
            Publish();
            _log.Info($"endpoint {id} ({model.Namespace}/{model.PodName}) deleted");
            return model;
        }
    }

    /// <summary>The same pod again: if it is where it was, update its labels and named ports (identity may change).</summary>
    private EndpointModel Adopt(EndpointState existing, EndpointState wanted)
    {
        if (existing.InterfaceName != wanted.InterfaceName || existing.IPv4 != wanted.IPv4)
        {
            throw ApiProblem.Conflict($"{existing.Namespace}/{existing.PodName} is endpoint {existing.Id} on {existing.InterfaceName} ({existing.IPv4}); " +
                $"delete it before creating it on {wanted.InterfaceName} ({wanted.IPv4})");
        }

        var id = (ushort)existing.Id;
        var state = wanted with { Id = existing.Id, Created = existing.Created };
        if (!SameLabels(existing, state))
        {
            var update = _repository.UpsertEndpoint(EndpointInfoOf(state));
            var identity = _repository.GetEndpointPolicy(id)!.Identity;
            if (_datapath.Endpoints.FirstOrDefault(e => e.Id == id) is { } current && current.Identity != identity)
            {
                _datapath.SetEndpointIdentity(id, identity);
            }

            _endpoints[id] = state;
            ApplyDeltas(update.Deltas);
            FlushIpcache();
            Publish();
            _log.Info($"endpoint {id} ({state.Namespace}/{state.PodName}) relabeled: identity {identity}");
        }

        return Model(id, adopted: true);
    }

    private static bool SameLabels(EndpointState a, EndpointState b) =>
        a.Labels.OrderBy(kv => kv.Key).SequenceEqual(b.Labels.OrderBy(kv => kv.Key))
        && a.NamespaceLabels.OrderBy(kv => kv.Key).SequenceEqual(b.NamespaceLabels.OrderBy(kv => kv.Key))
        && a.ServiceAccount == b.ServiceAccount
        && a.NamedPorts.SequenceEqual(b.NamedPorts);

    private ushort AllocateEndpointId()
    {
        for (var i = 0; i < ushort.MaxValue; i++)
        {
            var candidate = _nextEndpointId;
            _nextEndpointId = _nextEndpointId >= ushort.MaxValue ? 1 : _nextEndpointId + 1;
            if (!_endpoints.ContainsKey((ushort)candidate))
            {
                return (ushort)candidate;
            }
        }

        throw new ApiProblem(507, "every endpoint id (1-65535) is in use");
    }

    /// <summary>An endpoint by id, or by pod name (<c>[namespace/]name</c>; without a namespace, the only pod of that name).</summary>
    private ushort FindEndpoint(string idOrPod)
    {
        if (ushort.TryParse(idOrPod, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return _endpoints.ContainsKey(id) ? id : throw ApiProblem.NotFound($"endpoint {id} does not exist");
        }

        var slash = idOrPod.IndexOf('/', StringComparison.Ordinal);
        var matches = slash < 0
            ? _endpoints.Values.Where(e => e.PodName == idOrPod).ToList()
            : _endpoints.Values.Where(e => e.Namespace == idOrPod[..slash] && e.PodName == idOrPod[(slash + 1)..]).ToList();
        return matches.Count switch
        {
            1 => (ushort)matches[0].Id,
            0 => throw ApiProblem.NotFound($"no endpoint for pod \"{idOrPod}\""),
            _ => throw ApiProblem.BadRequest($"pod name \"{idOrPod}\" is ambiguous ({string.Join(", ", matches.Select(m => $"{m.Namespace}/{m.PodName}"))}): give namespace/name or the endpoint id"),
        };
    }

    private EndpointModel Model(ushort id, bool adopted, IReadOnlyDictionary<ushort, DatapathEndpoint>? attached = null)
    {
        var state = _endpoints[id];
        var policy = _repository.GetEndpointPolicy(id);
        var datapath = attached is null ? _datapath.Endpoints.FirstOrDefault(e => e.Id == id) : attached.GetValueOrDefault(id);
        var redirects = new List<ProxyRedirectModel>();
        if (policy is not null)
        {
            foreach (var (key, entry) in policy.Entries.Where(e => e.Value.Verdict == PolicyVerdict.Redirect))
            {
                var port = entry.L7 == L7Protocol.Kafka ? _options.KafkaProxyPort : _options.HttpProxyPort;
                redirects.Add(new ProxyRedirectModel(key.Direction == TrafficDirection.Ingress ? "ingress" : "egress",
                    key.PortProtocolText, entry.L7 == L7Protocol.Kafka ? "kafka" : "http", port));
            }
        }

        return new EndpointModel
        {
            Id = id,
            PodName = state.PodName,
            Namespace = state.Namespace,
            PodLabels = state.Labels,
            NamespaceLabels = state.NamespaceLabels,
            Labels = policy is null ? [] : [.. policy.Endpoint.IdentityLabels.Select(l => l.ToString()).Order(StringComparer.Ordinal)],
            Identity = policy?.Identity.Value ?? 0,
            InterfaceName = state.InterfaceName,
            InterfaceIndex = datapath?.InterfaceIndex ?? 0,
            IPv4 = state.IPv4,
            NamedPorts = state.NamedPorts,
            IngressEnforcement = policy?.Ingress.Enforced == true ? "Enabled" : "Disabled",
            EgressEnforcement = policy?.Egress.Enforced == true ? "Enabled" : "Disabled",
            IngressPolicies = policy is null ? [] : [.. policy.Ingress.DefaultDenyBy.Select(PolicyDocuments.Model)],
            EgressPolicies = policy is null ? [] : [.. policy.Egress.DefaultDenyBy.Select(PolicyDocuments.Model)],
            IngressEntries = policy?.Ingress.Count ?? 0,
            EgressEntries = policy?.Egress.Count ?? 0,
            ProxyRedirects = [.. redirects.Distinct()],
            Status = datapath is null ? "disconnected" : _endpointStatus.GetValueOrDefault(id, "not-ready"),
            AttachMode = datapath?.AttachMode switch
            {
                AttachMode.Tcx => "tcx",
                AttachMode.TcClsact => "tc",
                _ => "none",
            },
            PolicyRevision = _policyRevision,
            Created = state.Created,
            Adopted = adopted,
        };
    }

    private static EndpointState Validate(EndpointCreateRequest r)
    {
        var errors = new List<string>();
        if (!IsDnsLabel(r.PodName, 253, allowDots: true))
        {
            errors.Add($"podName \"{r.PodName}\": use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit");
        }

        if (!IsDnsLabel(r.Namespace, 63, allowDots: false))
        {
            errors.Add($"namespace \"{r.Namespace}\": use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit");
        }

        try
        {
            NamePrefix.InterfaceName(r.InterfaceName ?? "");
        }
        catch (ArgumentException e)
        {
            errors.Add($"interfaceName: {e.Message}");
        }

        // IPAddress also accepts inet_aton shorthands ("10.1" is 10.0.0.1): require the four-part form.
        if (!IPAddress.TryParse(r.IPv4 ?? "", out var address) || address.AddressFamily != AddressFamily.InterNetwork || r.IPv4!.Count(c => c == '.') != 3)
        {
            errors.Add($"ipv4 \"{r.IPv4}\": not an IPv4 address");
        }

        var labels = r.Labels ?? new Dictionary<string, string>();
        if (labels.Count > MaxLabels || (r.NamespaceLabels?.Count ?? 0) > MaxLabels)
        {
            errors.Add($"labels: at most {MaxLabels} pod and {MaxLabels} namespace labels");
        }

        foreach (var (key, value) in labels.Concat(r.NamespaceLabels ?? new Dictionary<string, string>()))
        {
            if (key.Length is 0 or > 317 || value.Length > 63 || key.Any(char.IsWhiteSpace) || key.Contains('=', StringComparison.Ordinal)
                || value.Any(c => char.IsWhiteSpace(c) || c is ',' or '='))
            {
                errors.Add($"label \"{key}={value}\": keys and values cannot be empty (keys) or contain spaces, '=' or ','");
            }
        }

        var ports = new List<NamedPortModel>();
        foreach (var p in r.NamedPorts ?? [])
        {
            var protocol = (p.Protocol ?? "TCP").ToUpperInvariant();
            if (!IsDnsLabel(p.Name, 15, allowDots: false) || p.Port is < 1 or > 65535 || protocol is not ("TCP" or "UDP" or "SCTP"))
            {
                errors.Add($"namedPorts: \"{p.Name}\" {p.Port}/{p.Protocol}: expected a name of up to 15 characters, a port 1-65535 and TCP, UDP or SCTP");
            }
            else
            {
                ports.Add(new NamedPortModel(p.Name, p.Port, protocol));
            }
        }

        if (errors.Count > 0)
        {
            throw ApiProblem.BadRequest($"invalid endpoint: {errors.Count} error(s)", errors);
        }

        return new EndpointState
        {
            Id = 0,
            PodName = r.PodName,
            Namespace = r.Namespace,
            Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal),
            NamespaceLabels = new Dictionary<string, string>(r.NamespaceLabels ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            ServiceAccount = r.ServiceAccount,
            InterfaceName = r.InterfaceName!,
            IPv4 = address!.ToString(),
            NamedPorts = ports,
        };
    }

    private static bool IsDnsLabel(string? text, int max, bool allowDots) =>
        !string.IsNullOrEmpty(text) && text.Length <= max
        && (char.IsAsciiLetterLower(text[0]) || char.IsAsciiDigit(text[0]))
        && (char.IsAsciiLetterLower(text[^1]) || char.IsAsciiDigit(text[^1]))
        && text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || (allowDots && c == '.'));

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ApiProblem(503, "the agent is shutting down");
        }
    }
}
