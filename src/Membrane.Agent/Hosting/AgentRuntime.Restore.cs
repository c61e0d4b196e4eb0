using System.Net;
using System.Net.Sockets;
using Membrane.Agent.Policies;
using Membrane.Agent.State;
using Membrane.Datapath;
using Membrane.Policy.Identity;
using Membrane.Policy.Repository;

namespace Membrane.Agent.Hosting;

/// <summary>Start-up: rebuilding the agent from its state directory and reconciling the kernel with it.</summary>
internal sealed partial class AgentRuntime
{
    /// <summary>
    /// Restores policies, endpoints and identities from <paramref name="state"/> and reconciles the kernel with them
    /// as deltas. The kernel kept enforcing while the agent was down (pinned maps, attached programs); nothing here
    /// detaches a live endpoint or clears a map: an endpoint whose kernel policy already matches is not written at all.
    /// </summary>
    private void Restore(AgentState state)
    {
        lock (_gate)
        {
            _policyRevision = state.PolicyRevision;
            _nextEndpointId = Math.Max(1, state.NextEndpointId);
            _documents = new PolicyDocuments(state.Documents);
            RefreshHostAddresses();

            var policies = _documents.Load();
            try
            {
                var update = _repository.ReplaceAll(policies);
                foreach (var warning in update.Warnings)
                {
                    _log.Warn($"restored policy: {warning}");
                }
            }
            catch (PolicyCompileException e)
            {
                // Starting with fewer policies would open traffic they deny: refuse, and leave the kernel as it is.
                throw new AgentStartException($"the saved policies no longer compile; the kernel keeps enforcing them: {e.Message}", e);
            }

            var kernel = _datapath.Endpoints.ToDictionary(e => e.Id);
            foreach (var saved in state.Endpoints)
            {
                var id = (ushort)saved.Id;
                _endpoints[id] = saved;
                _repository.UpsertEndpoint(EndpointInfoOf(saved));
            }

            foreach (var (id, datapathEndpoint) in kernel)
            {
                if (!_endpoints.ContainsKey(id))
                {
                    // Not in the saved state (a crash between attaching and saving): nobody can name its policy.
                    _log.Warn($"endpoint {id} on {datapathEndpoint.InterfaceName} is in the kernel but not in the saved state: removed");
                    _datapath.RemoveEndpoint(id);
                }
            }

            foreach (var (id, saved) in _endpoints.ToList())
            {
                var policy = _repository.GetEndpointPolicy(id)!;
                var address = IPAddress.Parse(saved.IPv4);
                kernel.TryGetValue(id, out var current);
                try
                {
                    if (current is not null && (current.InterfaceName != saved.InterfaceName || !current.Address.Equals(address)))
                    {
                        _log.Warn($"endpoint {id}: the kernel has {current.InterfaceName} {current.Address}, the state {saved.InterfaceName} {address}: re-adding");
                        _datapath.RemoveEndpoint(id);
                        current = null;
                    }

                    if (current is null)
                    {
                        _datapath.AddEndpoint(id, saved.InterfaceName, policy.Identity, address, policy.Entries);
                        _log.Info($"endpoint {id} ({saved.Namespace}/{saved.PodName}) re-attached to {saved.InterfaceName}");
                    }
                    else
                    {
                        if (current.Identity != policy.Identity)
                        {
                            _datapath.SetEndpointIdentity(id, policy.Identity);
                        }

                        var changed = _datapath.ReconcilePolicy(id, policy.Entries);
                        if (changed > 0)
                        {
                            _log.Info($"endpoint {id} ({saved.Namespace}/{saved.PodName}): {changed} policy entries reconciled");
                        }
                    }

                    _endpointStatus[id] = "ready";
                }
                catch (Exception e) when (e is DatapathException or ArgumentException)
                {
                    // The pod's interface is gone (pod deleted while the agent was down): forget the endpoint.
                    _log.Warn($"endpoint {id} ({saved.Namespace}/{saved.PodName}) could not be restored on {saved.InterfaceName}: {e.Message}; removed");
                    _endpoints.Remove(id);
                    _endpointStatus.Remove(id);
                    if (_repository.RemoveEndpoint(id) is { } removal)
                    {
                        ApplyDeltas(removal.Deltas);
                    }

                    if (_datapath.Endpoints.Any(d => d.Id == id))
                    {
                        _datapath.RemoveEndpoint(id);
                    }
                }
            }

            _pendingIpcache.Clear();
            ReconcileIpcache();
            Publish();
        }
    }

    /// <summary>Makes the kernel ipcache's non-endpoint entries equal the repository's (stale CIDRs removed, new ones added).</summary>
    private void ReconcileIpcache()
    {
        var endpointAddresses = _datapath.Endpoints.Select(e => e.Address).ToHashSet();
        var wanted = _ipCache.Entries()
            .Where(e => e.Prefix.Family == AddressFamily.InterNetwork)
            .Where(e => !(e.Prefix.Length == 32 && endpointAddresses.Contains(e.Prefix.Address)))
            .ToDictionary(e => new IPNetwork(e.Prefix.Address, e.Prefix.Length), e => e.Identity);
        foreach (var entry in _datapath.ListIpcache())
        {
            if (entry.EndpointId != 0)
            {
                continue;
            }

            if (!wanted.TryGetValue(entry.Prefix, out var identity))
            {
                _datapath.DeleteIpcache(entry.Prefix);
            }
            else if (identity == entry.Identity)
            {
                wanted.Remove(entry.Prefix);
            }
        }

        foreach (var (prefix, identity) in wanted)
        {
            _datapath.UpsertIpcache(prefix, identity);
        }
    }

    private static Membrane.Policy.Endpoints.EndpointInfo EndpointInfoOf(EndpointState s) =>
        new((ushort)s.Id, s.PodName, s.Namespace, Labels(s.Labels), IPAddress.Parse(s.IPv4),
            [.. s.NamedPorts.Select(p => new Membrane.Policy.Endpoints.NamedPort(p.Name, (ushort)p.Port, ProtocolNumber(p.Protocol)))])
        {
            NamespaceLabels = Labels(s.NamespaceLabels),
            ServiceAccount = s.ServiceAccount,
        };

    private static Membrane.Policy.Model.LabelSet Labels(IReadOnlyDictionary<string, string> labels) =>
        new(labels.Select(kv => Membrane.Policy.Model.Label.Parse(kv.Value.Length == 0 ? kv.Key : $"{kv.Key}={kv.Value}")));

    private static byte ProtocolNumber(string protocol) => protocol.ToUpperInvariant() switch
    {
        "TCP" => 6,
        "UDP" => 17,
        "SCTP" => 132,
        _ => throw new ArgumentException($"named port protocol \"{protocol}\": expected TCP, UDP or SCTP"),
    };
}
