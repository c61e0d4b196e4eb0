using Membrane.Datapath.Interop;
using Membrane.Datapath.Maps;
using Membrane.Datapath.Netns;

namespace Membrane.Datapath.Programs;

/// <summary>
/// Attaches from_container (ingress) and to_container (egress) to an endpoint's host-side veth. With tcx the
/// attachments are bpf links pinned under the endpoint's pin directory: they outlive the agent, and a restarted agent
/// replaces their programs in place with bpf_link_update (no instant without a program). Without tcx, tc clsact
/// filters at handle 1 / priority 1 are replaced in place (BPF_TC_F_REPLACE). All calls run on the node namespace's
/// thread (interface indexes and netlink are per namespace).
/// </summary>
internal sealed class EndpointAttacher
{
    private readonly NetnsThread _node;
    private readonly PinPaths _paths;
    private readonly bool _tcx;

    public EndpointAttacher(NetnsThread node, PinPaths paths, bool tcx)
    {
        _node = node;
        _paths = paths;
        _tcx = tcx;
    }

    public AttachMode Mode => _tcx ? AttachMode.Tcx : AttachMode.TcClsact;

    /// <summary>Attaches (or replaces) both programs on the endpoint's interface.</summary>
    public AttachMode Attach(ushort endpointId, int ifindex, string interfaceName, ProgramSet programs) => _node.Run(() =>
    {
        if (_tcx)
        {
            AttachLink(endpointId, ifindex, interfaceName, programs.FromContainerFd, ingress: true);
            AttachLink(endpointId, ifindex, interfaceName, programs.ToContainerFd, ingress: false);
            return AttachMode.Tcx;
        }

        Libbpf.AttachTc(programs.FromContainerFd, ifindex, ingress: true, interfaceName);
        Libbpf.AttachTc(programs.ToContainerFd, ifindex, ingress: false, interfaceName);
        return AttachMode.TcClsact;
    });

    /// <summary>How an existing endpoint is attached now (after a restart).</summary>
    public AttachMode Probe(ushort endpointId, int ifindex) => _node.Run(() =>
        File.Exists(_paths.Link(endpointId, ingress: true)) ? AttachMode.Tcx
        : Libbpf.TcAttached(ifindex, ingress: true) ? AttachMode.TcClsact
        : AttachMode.None);

    /// <summary>Ids of the programs attached to the interface (ingress hook first), for tests and diagnostics.</summary>
    public IReadOnlyList<uint> AttachedProgramIds(int ifindex, AttachMode mode) => _node.Run(() => mode == AttachMode.Tcx
        ? (IReadOnlyList<uint>)[.. Libbpf.TcxProgramIds(ifindex, ingress: true), .. Libbpf.TcxProgramIds(ifindex, ingress: false)]
        : [Libbpf.TcProgramId(ifindex, ingress: true), Libbpf.TcProgramId(ifindex, ingress: false)]);

    /// <summary>Removes both programs from the interface (the interface may already be gone).</summary>
    public void Detach(ushort endpointId, int ifindex, AttachMode mode) => _node.Run(() =>
    {
        foreach (var ingress in (ReadOnlySpan<bool>)[true, false])
        {
            var path = _paths.Link(endpointId, ingress);
            using var link = Libbpf.TryOpenPinned(path);
            if (link is not null)
            {
                try
                {
                    Libbpf.DetachLink(link, path);
                }
                catch (DatapathException e) when (e.Errno is Errno.ENOLINK or Errno.ENODEV or Errno.EINVAL)
                {
                    // The interface is gone, and the attachment with it.
                }

                File.Delete(path);
            }
        }

        if (mode == AttachMode.TcClsact)
        {
            Libbpf.DestroyTcHooks(ifindex);
        }
    });

    private void AttachLink(ushort endpointId, int ifindex, string interfaceName, int programFd, bool ingress)
    {
        var path = _paths.Link(endpointId, ingress);
        using var existing = Libbpf.TryOpenPinned(path);
        if (existing is not null)
        {
            try
            {
                Libbpf.UpdateLink(existing, programFd, path);
                return;
            }
            catch (DatapathException e) when (e.Errno is Errno.ENOLINK or Errno.ENODEV)
            {
                // The interface was recreated while the agent was away: the old link is dead, make a new one.
                File.Delete(path);
            }
        }

        using var link = Libbpf.CreateTcxLink(programFd, ifindex, ingress, interfaceName);
        Libbpf.Pin(link, path);
    }
}
