using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Membrane.Datapath.Interop;

/// <summary>
/// Receives libbpf's log lines (warnings and info, including the verifier log of a failed load) instead of letting
/// libbpf print them on stderr, and keeps the recent ones of the calling thread so an exception can carry them.
/// </summary>
internal static unsafe partial class LibbpfLog
{
    private const int LIBBPF_WARN = 0;
    private const int LIBBPF_INFO = 1;
    private const int MaxCapturedChars = 64 * 1024;

    [ThreadStatic]
    private static StringBuilder? s_captured;

    private static int s_installed;

    [LibraryImport(Libbpf.Library)]
    private static partial nint libbpf_set_print(delegate* unmanaged<int, nint, nint, int> callback);

    /// <summary>Routes libbpf's output here (idempotent).</summary>
    public static void EnsureInstalled()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            libbpf_set_print(&OnPrint);
        }
    }

    /// <summary>Forgets what was captured on this thread so far.</summary>
    public static void Clear() => s_captured?.Clear();

    /// <summary>Returns and forgets what libbpf logged on this thread since the last call.</summary>
    public static string? TakeCaptured()
    {
        if (s_captured is null || s_captured.Length == 0)
        {
            return null;
        }

        var text = s_captured.ToString();
        s_captured.Clear();
        return text;
    }

    [UnmanagedCallersOnly]
    private static int OnPrint(int level, nint format, nint args)
    {
        try
        {
            if (level > LIBBPF_INFO)
            {
                return 0;
            }

            const int Size = 8192;
            var buffer = stackalloc byte[Size];
            var length = Libc.vsnprintf(buffer, Size, format, args);
            if (length <= 0)
            {
                return 0;
            }

            var text = Encoding.UTF8.GetString(buffer, Math.Min(length, Size - 1));
            var captured = s_captured ??= new StringBuilder();
            if (captured.Length + text.Length > MaxCapturedChars)
            {
                captured.Remove(0, Math.Min(captured.Length, text.Length));
            }

            captured.Append(level == LIBBPF_WARN ? "libbpf: " : "libbpf (info): ").Append(text);
            return 0;
        }
        catch
        {
            // Nothing may escape into native code.
            return 0;
        }
    }
}
