using Membrane.Policy.L7.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Http2;

/// <summary>
/// A request's regular header fields as policy sees them (<see cref="IHttpHeaderView"/>): names compared ignoring
/// case, values widened from bytes into a scratch buffer that each <see cref="Value"/> call reuses (rule evaluation
/// uses a value before asking for the next). No allocation.
/// </summary>
internal readonly struct Http2HeaderView(HeaderList list, char[] scratch) : IHttpHeaderView
{
    /// <inheritdoc />
    public int Count(string name)
    {
        var count = 0;
        for (var i = 0; i < list.Count; i++)
        {
            if (Matches(i, name))
            {
                count++;
            }
        }

        return count;
    }

    /// <inheritdoc />
    public ReadOnlySpan<char> Value(string name, int index)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (Matches(i, name) && index-- == 0)
            {
                var value = list.Value(i);
                var length = Math.Min(value.Length, scratch.Length);
                for (var j = 0; j < length; j++)
                {
                    scratch[j] = (char)value[j];
                }

                return scratch.AsSpan(0, length);
            }
        }

        return default;
    }

    private bool Matches(int i, string name)
    {
        if (list.IsRemoved(i))
        {
            return false;
        }

        var n = list.Name(i);
        if (n.Length != name.Length || (n.Length > 0 && n[0] == ':'))
        {
            return false;
        }

        for (var j = 0; j < n.Length; j++)
        {
            var a = n[j];
            var b = name[j];
            if (a == b || ((uint)((a | 0x20) - 'a') <= 'z' - 'a' && (a | 0x20) == (b | 0x20)))
            {
                continue;
            }

            return false;
        }

        return true;
    }
}

/// <summary>The HTTP methods every request uses, as shared strings (events carry the method as a string).</summary>
internal static class KnownMethods
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    /// <summary>The shared string for a common method, or a new one.</summary>
    public static string Intern(ReadOnlySpan<byte> method)
    {
        foreach (var m in Methods)
        {
            if (method.Length == m.Length && System.Text.Ascii.Equals(method, m))
            {
                return m;
            }
        }

        return System.Text.Encoding.Latin1.GetString(method);
    }
}
