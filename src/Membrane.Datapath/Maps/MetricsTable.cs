using Membrane.Datapath.Events;
using Membrane.Datapath.Interop;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Maps;

/// <summary>The per-CPU <c>metrics</c> (packets and bytes per reason and direction) and <c>counters</c> arrays.</summary>
internal sealed class MetricsTable
{
    private readonly BpfMap _metrics;
    private readonly BpfMap _counters;

    public MetricsTable(BpfMap metrics, BpfMap counters)
    {
        _metrics = metrics;
        _counters = counters;
    }

    /// <summary>Packets and bytes of a reason (0 = forwarded) in a direction, summed over CPUs.</summary>
    public (ulong Packets, ulong Bytes) Read(int reason, TrafficDirection direction)
    {
        var index = (uint)(((reason & 0xFF) << 1) | (int)direction);
        ulong packets = 0, bytes = 0;
        foreach (var slot in _metrics.LookupPerCpu<uint, metrics_value>(index))
        {
            packets += slot.packets;
            bytes += slot.bytes;
        }

        return (packets, bytes);
    }

    public List<DropCounter> ReadDrops()
    {
        var list = new List<DropCounter>();
        foreach (var reason in Enum.GetValues<DropReason>())
        {
            foreach (var direction in (ReadOnlySpan<TrafficDirection>)[TrafficDirection.Ingress, TrafficDirection.Egress])
            {
                var (packets, bytes) = Read((int)reason, direction);
                if (packets != 0)
                {
                    list.Add(new DropCounter(reason, direction, packets, bytes));
                }
            }
        }

        return list;
    }

    public ulong ReadCounter(int index)
    {
        ulong sum = 0;
        foreach (var slot in _counters.LookupPerCpu<uint, ulong>((uint)index))
        {
            sum += slot;
        }

        return sum;
    }
}
