namespace Membrane.Datapath;

/// <summary>Linux error numbers (x86-64/arm64 values) as reported by the kernel and libbpf.</summary>
public enum Errno
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Operation not permitted.</summary>
    EPERM = 1,

    /// <summary>No such file or directory (missing map key, pin or interface).</summary>
    ENOENT = 2,

    /// <summary>No such process.</summary>
    ESRCH = 3,

    /// <summary>Interrupted system call.</summary>
    EINTR = 4,

    /// <summary>I/O error.</summary>
    EIO = 5,

    /// <summary>Argument list too long (verifier: program too large).</summary>
    E2BIG = 7,

    /// <summary>Bad file descriptor.</summary>
    EBADF = 9,

    /// <summary>Try again.</summary>
    EAGAIN = 11,

    /// <summary>Out of memory.</summary>
    ENOMEM = 12,

    /// <summary>Permission denied.</summary>
    EACCES = 13,

    /// <summary>Bad address.</summary>
    EFAULT = 14,

    /// <summary>Device or resource busy.</summary>
    EBUSY = 16,

    /// <summary>File exists (key or qdisc already present).</summary>
    EEXIST = 17,

    /// <summary>No such device.</summary>
    ENODEV = 19,

    /// <summary>Not a directory.</summary>
    ENOTDIR = 20,

    /// <summary>Invalid argument.</summary>
    EINVAL = 22,

    /// <summary>File table overflow.</summary>
    ENFILE = 23,

    /// <summary>Too many open files.</summary>
    EMFILE = 24,

    /// <summary>No space left on device (map full).</summary>
    ENOSPC = 28,

    /// <summary>Range error.</summary>
    ERANGE = 34,

    /// <summary>Link has been severed (a bpf link whose interface is gone).</summary>
    ENOLINK = 67,

    /// <summary>Function not implemented.</summary>
    ENOSYS = 38,

    /// <summary>Operation not supported.</summary>
    EOPNOTSUPP = 95,

    /// <summary>Address already in use.</summary>
    EADDRINUSE = 98,

    /// <summary>Network is unreachable.</summary>
    ENETUNREACH = 101,

    /// <summary>Operation not supported (kernel-internal ENOTSUPP as some BPF paths return it).</summary>
    ENOTSUPP = 524,
}

/// <summary>Formatting helpers for <see cref="Errno"/>.</summary>
public static class ErrnoExtensions
{
    /// <summary><c>ENOSPC</c>, or <c>errno 123</c> for values without a name here.</summary>
    public static string Name(this Errno errno) =>
        Enum.IsDefined(errno) ? errno.ToString() : $"errno {(int)errno}";
}
