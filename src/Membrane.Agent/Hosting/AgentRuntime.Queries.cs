using System.Globalization;
using System.Reflection;
using Membrane.Agent.Api;
using Membrane.Agent.Policies;
using Membrane.Datapath;
using Membrane.Datapath.Events;
using Membrane.Observer.Flows;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Agent.Hosting;

/// <summary>Read verbs: status, identities, the kernel maps, metrics.</summary>
internal sealed partial class AgentRuntime
{
    private static readonly string s_version =
        typeof(AgentRuntime).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public StatusModel GetStatus()
    {
        var datapath = _datapath.GetStatus();
        var ring = _observer.Ring.Statistics;
        var view = _view;
        SyncLostEvents(datapath);
        var redirects = CountRedirects();
        var health = new List<HealthModel>
        {
            new("datapath", true, $"{datapath.Endpoints} endpoints attached ({Mode(datapath.Features.AttachMode)})"),
            new("proxy", _proxyError is null && _listeners.Count == 2,
                _proxyError ?? string.Join(", ", _listeners.Select(l => $"{l.Protocol} {l.Listener.LocalEndPoint}"))),
            new("flows", _datapathFlowTask is { IsCompleted: false }, _datapathFlowTask is { IsCompleted: false } ? "reading kernel events" : "the kernel event reader stopped"),
            new("state", _stateError is null, _stateError ?? $"saved in {_store.FilePath}"),
            new("metrics", _metricsError is null, _metricsError ?? (_metrics is { } m ? $"http://{m.Address}/metrics" : "disabled")),
        };
        var lostFlowBuffer = ring.DroppedOnWrite;
        var lostKernel = (long)datapath.EventsLost;
        var lostQueue = datapath.EventsDroppedInUserSpace;
        return new StatusModel
        {
            Instance = _options.Instance,
            Version = s_version,
            ProcessId = Environment.ProcessId,
            Started = Started,
            NodeNamespace = NodeNamespace,
            StateDirectory = _store.Directory,
            Kernel = datapath.Features.KernelRelease,
            Features =
            [
                new("tcx", datapath.Features.Tcx),
                new("ringbuf", datapath.Features.RingBuffer),
                new("sk_assign", datapath.Features.SocketAssign),
                new("lpm_trie", datapath.Features.LpmTrie),
                new("map_in_map", datapath.Features.MapInMap),
                new("coarse_clock", datapath.Features.CoarseClock),
            ],
            DatapathMode = Mode(datapath.Features.AttachMode),
            PinRoot = datapath.PinRoot,
            Maps = [.. datapath.Maps.Select(m => new MapFillModel(m.Name, m.Entries, m.Capacity))],
            ProxyListeners = [.. _listeners.Select(l => new ProxyListenerModel(l.Protocol, l.Listener.LocalEndPoint.ToString(),
                redirects.GetValueOrDefault(l.Protocol)))],
            Endpoints = view.EndpointCount,
            Identities = view.IdentityCount,
            Policies = _repository.Policies.Count,
            PolicyRevision = view.PolicyRevision,
            PolicyEnforcement = _options.PolicyEnforcement,
            Flows = new FlowStatusModel
            {
                CurrentFlows = ring.NumFlows,
                MaxFlows = ring.Capacity,
                SeenFlows = ring.SeenFlows,
                LostInKernelRingBuffer = lostKernel,
                LostInEventQueue = lostQueue,
                LostInFlowBuffer = lostFlowBuffer,
                LostToReaders = ring.LostToReaders,
                LostTotal = lostKernel + lostQueue + lostFlowBuffer + ring.LostToReaders,
            },
            ForwardedPackets = datapath.ForwardedPackets,
            ProxyRedirects = datapath.ProxyRedirects,
            Drops = [.. datapath.Drops.Where(d => d.Packets > 0 && d.Reason != Membrane.Datapath.Events.DropReason.None).OrderBy(d => (int)d.Reason).ThenBy(d => d.Direction)
                .Select(d => new DropCountModel(d.Reason.Describe(), (int)d.Reason, d.Direction == TrafficDirection.Ingress ? "ingress" : "egress", d.Packets))],
            ConntrackCollected = datapath.ConntrackCollected,
            MetricsAddress = _metrics?.Address.ToString() ?? "",
            Health = health,
        };
    }

    public IReadOnlyList<IdentityModel> ListIdentities()
    {
        var view = _view;
        var byIdentity = view.Endpoints.GroupBy(e => e.Identity.Value).ToDictionary(g => g.Key, g => g.Select(e => (int)e.Id).ToList());
        return [.. view.Identities.Select(i => Identity(i.Key, i.Value, byIdentity))];
    }

    public IdentityModel GetIdentity(uint id)
    {
        var view = _view;
        var labels = view.LabelsOf(id) ?? throw ApiProblem.NotFound($"identity {id} is not in use");
        var byIdentity = view.Endpoints.GroupBy(e => e.Identity.Value).ToDictionary(g => g.Key, g => g.Select(e => (int)e.Id).ToList());
        return Identity(id, labels, byIdentity);
    }

    public BpfPolicyResponse GetBpfPolicy(string idOrPod)
    {
        ushort id;
        lock (_gate)
        {
            id = FindEndpoint(idOrPod);
        }

        IReadOnlyList<PolicyMapRow> rows;
        try
        {
            rows = _datapath.ReadPolicy(id);
        }
        catch (ArgumentException e)
        {
            throw ApiProblem.NotFound(e.Message);
        }

        var view = _view;
        return new BpfPolicyResponse(id, [.. rows.Select(r => new BpfPolicyEntryModel
        {
            Direction = r.Key.Direction == TrafficDirection.Ingress ? "Ingress" : "Egress",
            Identity = r.Key.Identity,
            Labels = r.Key.Identity == 0 ? ["ANY"] : LabelTexts(view.LabelsOf(r.Key.Identity)),
            PortProtocol = r.Key.PortProtocolText,
            Protocol = r.Key.Protocol,
            Port = r.Key.FirstPort,
            PortPrefixLength = r.Key.PortPrefixLength,
            Verdict = r.Verdict switch
            {
                PolicyVerdict.Allow => "allow",
                PolicyVerdict.Deny => "deny",
                _ => "redirect",
            },
            L7 = r.L7 switch
            {
                L7Protocol.Http => "http",
                L7Protocol.Kafka => "kafka",
                _ => "",
            },
            ProxyPort = r.ProxyPort,
            Cookie = r.Cookie,
            Policies = [.. r.Policies.Select(PolicyDocuments.Model)],
        })]);
    }

    public IReadOnlyList<ConntrackEntryModel> ListConntrack() =>
        [.. _datapath.ListConntrack()
            .OrderBy(c => c.EndpointId).ThenBy(c => c.Source.ToString(), StringComparer.Ordinal).ThenBy(c => c.SourcePort)
            .Select(c => new ConntrackEntryModel
            {
                Protocol = c.Protocol switch
                {
                    6 => "TCP",
                    17 => "UDP",
                    132 => "SCTP",
                    1 => "ICMP",
                    _ => c.Protocol.ToString(CultureInfo.InvariantCulture),
                },
                Source = $"{c.Source}:{c.SourcePort}",
                Destination = $"{c.Destination}:{c.DestinationPort}",
                Direction = c.Direction == TrafficDirection.Ingress ? "ingress" : "egress",
                EndpointId = c.EndpointId,
                SourceIdentity = c.SourceIdentity.Value,
                DestinationIdentity = c.DestinationIdentity.Value,
                State = c.State.ToString().ToLowerInvariant(),
                Flags = [.. FlagNames(c.Flags)],
                ForwardPackets = c.ForwardPackets,
                ForwardBytes = c.ForwardBytes,
                ReplyPackets = c.ReplyPackets,
                ReplyBytes = c.ReplyBytes,
                ProxyPort = c.ProxyPort,
                ExpiresInSeconds = (long)Math.Floor(c.ExpiresIn.TotalSeconds),
                Policies = [.. _datapath.ResolveCookie(c.PolicyCookie).Select(PolicyDocuments.Model)],
            })];

    public IReadOnlyList<IpcacheEntryModel> ListIpcache()
    {
        var view = _view;
        return [.. _datapath.ListIpcache().Select(e => new IpcacheEntryModel(e.Prefix.ToString(), e.Identity.Value,
            LabelTexts(view.LabelsOf(e.Identity.Value)), e.EndpointId))];
    }

    public void WriteMetrics(TextWriter output)
    {
        var datapath = _datapath.GetStatus();
        SyncLostEvents(datapath);
        foreach (var (protocol, count) in CountRedirects())
        {
            _observer.Metrics.SetProxyRedirects(protocol, count);
        }

        foreach (var map in datapath.Maps)
        {
            _observer.Metrics.SetBpfMapPressure(map.Name, map.Fill);
        }

        _observer.WriteMetrics(output);
    }

    /// <summary>Moves the lost-event metrics up to the datapath's counters (they only grow).</summary>
    private void SyncLostEvents(DatapathStatus datapath)
    {
        lock (_lostGate)
        {
            if (datapath.EventsLost > _reportedKernelLost)
            {
                _observer.Metrics.RecordLostEvents(LostEventSource.PerfEventRingBuffer, datapath.EventsLost - _reportedKernelLost);
                _reportedKernelLost = datapath.EventsLost;
            }

            if (datapath.EventsDroppedInUserSpace > _reportedQueueLost)
            {
                _observer.Metrics.RecordLostEvents(LostEventSource.ObserverEventsQueue, (ulong)(datapath.EventsDroppedInUserSpace - _reportedQueueLost));
                _reportedQueueLost = datapath.EventsDroppedInUserSpace;
            }
        }
    }

    /// <summary>Redirect entries per proxy protocol across endpoints (<c>cilium_proxy_redirects</c>).</summary>
    private Dictionary<string, int> CountRedirects()
    {
        var counts = new Dictionary<string, int> { ["http"] = 0, ["kafka"] = 0 };
        foreach (var policy in _repository.EndpointPolicies)
        {
            foreach (var (_, entry) in policy.Entries)
            {
                if (entry.Verdict == PolicyVerdict.Redirect)
                {
                    counts[entry.L7 == L7Protocol.Kafka ? "kafka" : "http"]++;
                }
            }
        }

        return counts;
    }

    private static IdentityModel Identity(uint id, LabelSet labels, Dictionary<uint, List<int>> endpoints)
    {
        var identity = new NumericIdentity(id);
        var scope = identity.IsReserved ? "reserved" : identity.IsLocal ? "local" : "cluster";
        return new IdentityModel(id, LabelTexts(labels), scope, endpoints.GetValueOrDefault(id) ?? []);
    }

    private static List<string> LabelTexts(LabelSet? labels) =>
        labels is null ? [] : [.. labels.Select(l => l.ToString()).Order(StringComparer.Ordinal)];

    private static IEnumerable<string> FlagNames(ConntrackFlags flags)
    {
        if (flags.HasFlag(ConntrackFlags.SeenReply))
        {
            yield return "seen-reply";
        }

        if (flags.HasFlag(ConntrackFlags.ForwardFin))
        {
            yield return "fin-forward";
        }

        if (flags.HasFlag(ConntrackFlags.ReplyFin))
        {
            yield return "fin-reply";
        }

        if (flags.HasFlag(ConntrackFlags.Reset))
        {
            yield return "reset";
        }

        if (flags.HasFlag(ConntrackFlags.ProxyRedirect))
        {
            yield return "proxy-redirect";
        }

        if (flags.HasFlag(ConntrackFlags.ProxyUpstream))
        {
            yield return "proxy-upstream";
        }
    }

    private static string Mode(AttachMode mode) => mode switch
    {
        AttachMode.Tcx => "tcx",
        AttachMode.TcClsact => "tc",
        _ => "none",
    };
}
