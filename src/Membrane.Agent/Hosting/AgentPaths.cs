namespace Membrane.Agent.Hosting;

/// <summary>
/// Where an agent instance keeps its files: the API socket under the runtime directory
/// (<c>/run/membrane/&lt;instance&gt;/api.sock</c>, root-only) and its state under the state directory
/// (<c>/var/lib/membrane/&lt;instance&gt;/</c>). <c>MEMBRANE_RUN_DIR</c> moves the runtime directory.
/// </summary>
public static class AgentPaths
{
    /// <summary>The environment variable naming the instance the CLI talks to.</summary>
    public const string InstanceVariable = "MEMBRANE_INSTANCE";

    /// <summary>The environment variable that overrides the runtime directory (default <c>/run/membrane</c>).</summary>
    public const string RunDirectoryVariable = "MEMBRANE_RUN_DIR";

    /// <summary>The instance name when none is given.</summary>
    public const string DefaultInstance = "membrane";

    /// <summary>The API socket's file name.</summary>
    public const string SocketFileName = "api.sock";

    /// <summary>The runtime directory holding one sub-directory per running instance.</summary>
    public static string RunDirectory =>
        Environment.GetEnvironmentVariable(RunDirectoryVariable) is { Length: > 0 } dir ? dir : "/run/membrane";

    /// <summary>The API socket of <paramref name="instance"/>.</summary>
    public static string Socket(string instance) => Path.Combine(RunDirectory, ValidateInstance(instance), SocketFileName);

    /// <summary>The default state directory of <paramref name="instance"/>.</summary>
    public static string DefaultStateDirectory(string instance) => Path.Combine("/var/lib/membrane", ValidateInstance(instance));

    /// <summary>Checks an instance name: 1–32 characters a-z, 0-9, '-' or '_' (it names directories and bpffs pins).</summary>
    public static string ValidateInstance(string instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        if (instance.Length is 0 or > 32 || !instance.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
        {
            throw new ArgumentException($"instance \"{instance}\": use 1-32 characters a-z, 0-9, '-' or '_'");
        }

        return instance;
    }

    /// <summary>Instances with an API socket under the runtime directory (running or stale), sorted.</summary>
    public static IReadOnlyList<string> ListInstances()
    {
        var root = RunDirectory;
        if (!Directory.Exists(root))
        {
            return [];
        }

        return [.. Directory.GetDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, SocketFileName)))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)];
    }
}
