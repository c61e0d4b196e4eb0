using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>The libc calls the datapath needs: network namespaces, interface names, error texts.</summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    /// <summary><c>CLONE_NEWNET</c>: setns() namespace type of a network namespace.</summary>
    public const int CLONE_NEWNET = 0x40000000;

    [LibraryImport(Library, EntryPoint = "setns", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport(Library, EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial uint if_nametoindex(string name);

    [LibraryImport(Library, EntryPoint = "if_indextoname", SetLastError = true)]
    private static partial nint if_indextoname(uint index, byte* name);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Library, EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int clock_gettime(int clock, long* timespec);

    [LibraryImport(Library, EntryPoint = "mount", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mount(string source, string target, string type, ulong flags, nint data);

    [LibraryImport(Library, EntryPoint = "vsnprintf")]
    internal static partial int vsnprintf(byte* buffer, nuint size, nint format, nint args);

    /// <summary>Moves the calling OS thread into the network namespace open at <paramref name="namespaceFd"/>.</summary>
    public static void SetNetworkNamespace(SafeHandle namespaceFd, string path)
    {
        var added = false;
        namespaceFd.DangerousAddRef(ref added);
        try
        {
            if (setns((int)namespaceFd.DangerousGetHandle(), CLONE_NEWNET) != 0)
            {
                throw new DatapathException($"setns {path}", (Errno)Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            if (added)
            {
                namespaceFd.DangerousRelease();
            }
        }
    }

    /// <summary>Interface index of <paramref name="name"/> in the calling thread's network namespace.</summary>
    public static int InterfaceIndex(string name)
    {
        var index = if_nametoindex(name);
        if (index == 0)
        {
            throw new DatapathException($"if_nametoindex {name}", (Errno)Marshal.GetLastPInvokeError());
        }

        return checked((int)index);
    }

    /// <summary>Name of interface <paramref name="index"/> in the calling thread's network namespace, or null.</summary>
    public static string? InterfaceName(int index)
    {
        var buffer = stackalloc byte[16];
        return if_indextoname((uint)index, buffer) == 0 ? null : Marshal.PtrToStringUTF8((nint)buffer);
    }

    /// <summary>CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns().</summary>
    public static ulong MonotonicNanoseconds()
    {
        var timespec = stackalloc long[2];
        if (clock_gettime(1 /* CLOCK_MONOTONIC */, timespec) != 0)
        {
            throw new DatapathException("clock_gettime CLOCK_MONOTONIC", LastErrno());
        }

        return (ulong)((timespec[0] * 1_000_000_000L) + timespec[1]);
    }

    /// <summary>Mounts a bpf filesystem at <paramref name="target"/>.</summary>
    public static void MountBpffs(string target)
    {
        if (mount("bpf", target, "bpf", 0, 0) != 0)
        {
            throw new DatapathException($"mount -t bpf bpf {target}", LastErrno());
        }
    }

    /// <summary>The C library's text for an error number (strerror).</summary>
    public static string ErrorMessage(Errno errno) => Marshal.GetPInvokeErrorMessage((int)errno);

    /// <summary>The calling thread's errno after a failed call marked SetLastError.</summary>
    public static Errno LastErrno() => (Errno)Marshal.GetLastPInvokeError();
}
