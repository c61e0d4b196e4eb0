using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>
/// libbpf (<c>libbpf.so.1</c>, Debian's libbpf1 1.1). One partial file per function group. libbpf 1.x returns
/// negative error numbers from int-returning calls and sets errno for pointer-returning ones.
/// </summary>
internal static unsafe partial class Libbpf
{
    internal const string Library = "libbpf.so.1";

    /// <summary>Throws a <see cref="DatapathException"/> naming <paramref name="operation"/> when <paramref name="rc"/> is negative.</summary>
    internal static int Check(int rc, string operation)
    {
        if (rc < 0)
        {
            throw new DatapathException(operation, (Errno)(-rc), LibbpfLog.TakeCaptured());
        }

        return rc;
    }

    /// <summary>An exception for a failed pointer-returning libbpf call (errno in the last P/Invoke error).</summary>
    internal static DatapathException Failure(string operation)
    {
        var errno = (Errno)Marshal.GetLastPInvokeError();
        return new DatapathException(operation, errno == Errno.None ? Errno.EINVAL : errno, LibbpfLog.TakeCaptured());
    }
}
