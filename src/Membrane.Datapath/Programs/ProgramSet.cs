using Membrane.Datapath.Interop;
using Membrane.Datapath.Maps;

namespace Membrane.Datapath.Programs;

/// <summary>
/// The loaded from-container and to-container programs. Both objects define the same maps pinned by name under
/// the instance's pin root, so the first load creates the maps and every later load (the other object, or a
/// restarted agent) reuses them: policy, ipcache and conntrack survive a restart.
/// </summary>
internal sealed class ProgramSet : IDisposable
{
    private readonly BpfObjectHandle _fromObject;
    private readonly BpfObjectHandle _toObject;

    private ProgramSet(BpfObjectHandle fromObject, BpfObjectHandle toObject)
    {
        _fromObject = fromObject;
        _toObject = toObject;
        FromContainerFd = Libbpf.ProgramFd(fromObject, "from_container");
        ToContainerFd = Libbpf.ProgramFd(toObject, "to_container");
    }

    /// <summary>File descriptor of from_container (owned by its object).</summary>
    public int FromContainerFd { get; }

    /// <summary>File descriptor of to_container (owned by its object).</summary>
    public int ToContainerFd { get; }

    public static ProgramSet Load(string objectDirectory, PinPaths paths, int conntrackCapacity, int eventBufferBytes)
    {
        Directory.CreateDirectory(paths.Root);
        BpfObjectHandle? from = null, to = null;
        try
        {
            from = Open(Path.Combine(objectDirectory, ObjectFiles.FromContainer), paths, conntrackCapacity, eventBufferBytes);
            to = Open(Path.Combine(objectDirectory, ObjectFiles.ToContainer), paths, conntrackCapacity, eventBufferBytes);
            return new ProgramSet(from, to);
        }
        catch
        {
            from?.Dispose();
            to?.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _fromObject.Dispose();
        _toObject.Dispose();
    }

    private static BpfObjectHandle Open(string file, PinPaths paths, int conntrackCapacity, int eventBufferBytes)
    {
        var obj = Libbpf.OpenObject(file, paths.Root);
        try
        {
            Libbpf.SetMaxEntries(obj, MapNames.Conntrack, (uint)conntrackCapacity);
            Libbpf.SetMaxEntries(obj, MapNames.Events, (uint)eventBufferBytes);
            try
            {
                Libbpf.LoadObject(obj, Path.GetFileName(file));
            }
            catch (DatapathException e) when (e.Errno == Errno.EINVAL && e.Message.Contains("couldn't reuse pinned map", StringComparison.Ordinal))
            {
                throw new DatapathException(
                    $"{e.Message}{Environment.NewLine}The maps pinned under {paths.Root} were created with another definition " +
                    "(another conntrack capacity or event buffer size, or an older build): open the instance with the same sizes, " +
                    "or remove it (EbpfDatapath.Destroy) to start over.", e);
            }

            return obj;
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }
}
