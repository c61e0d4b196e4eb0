namespace Membrane.Datapath.Netns;

/// <summary>A named network namespace (<c>/var/run/netns/NAME</c>), deleted on dispose.</summary>
public class NetworkNamespace : IDisposable
{
    private bool _disposed;

    /// <summary>Creates the namespace <paramref name="name"/> and brings its loopback up.</summary>
    /// <exception cref="DatapathException">iproute2 failed (the message carries its error output).</exception>
    protected NetworkNamespace(string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"network namespace name \"{name}\": use 1-64 characters a-z, 0-9, '-' or '_'");
        }

        Name = name;
        IpCommand.Ip("netns", "add", name);
        try
        {
            // IPv4 only: no IPv6 addresses, router solicitations or MLD reports on the interfaces created later.
            IpCommand.Sysctl(name, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            IpCommand.IpIn(name, "link", "set", "lo", "up");
        }
        catch
        {
            IpCommand.Run("ip", ["netns", "del", name], allowFailure: true);
            throw;
        }
    }

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>Its path, for setns (<see cref="NetnsThread"/>) or <c>nsenter --net=</c>.</summary>
    public string Path => NamespacePath(Name);

    /// <summary>The path of a named namespace.</summary>
    public static string NamespacePath(string name) => $"/var/run/netns/{name}";

    /// <summary>Creates a bare named namespace with only loopback up.</summary>
    public static NetworkNamespace Create(string name) => new(name);

    /// <summary>Deletes the namespace (and with it every interface inside it).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Removes what a derived namespace added outside the namespace, then the namespace itself.</summary>
    protected virtual void Dispose(bool disposing) => IpCommand.Run("ip", ["netns", "del", Name], allowFailure: true);
}
