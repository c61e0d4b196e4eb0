using Membrane.Agent.Api;
using Membrane.Observer.Filters;
using Membrane.Observer.Flows;
using Membrane.Observer.Printers;

namespace Membrane.Agent.Hosting;

/// <summary>Streams: <c>observe</c> (Hubble JSON lines) and <c>monitor</c> (Cilium monitor lines).</summary>
internal sealed partial class AgentRuntime
{
    public object PrepareObserve(ObserveRequest request)
    {
        try
        {
            return FlowFilterSpec.Parse(request.Arguments ?? []);
        }
        catch (FlowFilterParseException e)
        {
            throw ApiProblem.BadRequest(e.Message);
        }
    }

    public async Task ObserveAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken)
    {
        var spec = (FlowFilterSpec)prepared;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await foreach (var response in _observer.ObserveAsync(spec, stop.Token).ConfigureAwait(false))
        {
            await writeLine(HubbleJson.Serialize(response), spec.Follow).ConfigureAwait(false);
        }
    }

    public object PrepareMonitor(MonitorRequest request)
    {
        var kinds = MonitorEventKinds.None;
        foreach (var type in request.Types ?? [])
        {
            kinds |= MonitorPrinter.TryParseKind(type, out var kind)
                ? kind
                : throw ApiProblem.BadRequest($"--type {type}: expected drop, trace, l7 or policy-verdict");
        }

        return new MonitorSelection(
            kinds == MonitorEventKinds.None ? MonitorEventKinds.All : kinds,
            [.. request.From ?? []],
            [.. request.To ?? []],
            [.. request.RelatedTo ?? []],
            request);
    }

    public async Task MonitorAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken)
    {
        var selection = (MonitorSelection)prepared;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var text = new StringWriter { NewLine = "\n" };
        var printer = new MonitorPrinter(text, selection.Request.Json ? MonitorOutputFormat.Json : MonitorOutputFormat.Text,
            selection.Kinds, selection.Request.Numeric, selection.Request.PrintPolicyNames);
        var options = new FlowReadOptions { Follow = true, Filter = selection.Matches };
        await foreach (var response in _observer.Ring.ReadAsync(options, stop.Token).ConfigureAwait(false))
        {
            if (!printer.Write(response))
            {
                continue;
            }

            var written = text.ToString();
            text.GetStringBuilder().Clear();
            foreach (var line in written.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await writeLine(line, true).ConfigureAwait(false);
            }
        }
    }

    /// <summary>What a monitor client asked for: event kinds and endpoint filters (Cilium's <c>--from</c>, <c>--to</c>, <c>--related-to</c>).</summary>
    private sealed class MonitorSelection(MonitorEventKinds kinds, HashSet<int> from, HashSet<int> to, HashSet<int> related, MonitorRequest request)
    {
        public MonitorEventKinds Kinds { get; } = kinds;

        public MonitorRequest Request { get; } = request;

        /// <summary>
        /// <c>--from</c>: the endpoint the event is about (whose policy or proxy rules applied: the destination for
        /// ingress, the source for egress), as Cilium filters on the monitor message's source endpoint.
        /// </summary>
        public bool Matches(in Flow flow)
        {
            if ((MonitorPrinter.KindsOf(flow) & Kinds) == MonitorEventKinds.None)
            {
                return false;
            }

            var source = (int)flow.Source.Id;
            var destination = (int)flow.Destination.Id;
            if (from.Count > 0)
            {
                var owner = flow.TrafficDirection == FlowTrafficDirection.Ingress ? destination : source;
                if (!from.Contains(owner))
                {
                    return false;
                }
            }

            if (to.Count > 0 && !to.Contains(destination))
            {
                return false;
            }

            return related.Count == 0 || related.Contains(source) || related.Contains(destination);
        }
    }
}
