namespace Membrane.Datapath;

/// <summary>
/// A datapath operation failed. The message names the operation, the object and the error, e.g.
/// <c>map_update policy (endpoint 12): ENOSPC (No space left on device)</c>; <see cref="Errno"/> carries the error
/// number when the kernel or libbpf reported one.
/// </summary>
public sealed class DatapathException : Exception
{
    /// <summary>Creates an exception for a failure without an error number.</summary>
    public DatapathException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception for a failure with an inner cause.</summary>
    public DatapathException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates an exception for an operation that failed with <paramref name="errno"/>.</summary>
    /// <param name="operation">What was attempted and on what, e.g. <c>map_update policy (endpoint 12)</c>.</param>
    /// <param name="errno">The error number.</param>
    /// <param name="detail">Optional extra text (libbpf's log lines, a hint).</param>
    public DatapathException(string operation, Errno errno, string? detail = null)
        : base(Format(operation, errno, detail))
    {
        Errno = errno;
        Operation = operation;
    }

    /// <summary>The error number, or <see cref="Datapath.Errno.None"/>.</summary>
    public Errno Errno { get; }

    /// <summary>The failed operation, when known.</summary>
    public string? Operation { get; }

    private static string Format(string operation, Errno errno, string? detail)
    {
        var text = $"{operation}: {errno.Name()} ({Interop.Libc.ErrorMessage(errno)})";
        return string.IsNullOrWhiteSpace(detail) ? text : $"{text}{Environment.NewLine}{detail.TrimEnd()}";
    }
}
