using System.Net;

namespace Membrane.Agent.Hosting;

/// <summary>
/// A running agent (<c>membrane agent</c>): the datapath of a node network namespace, the L7 proxy, endpoints,
/// identities, policies, flows and metrics, served on the instance's API socket. Stopping it (dispose) leaves the
/// kernel enforcing the last state; starting the same instance again restores it from the state directory.
/// </summary>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly AgentRuntime _runtime;

    private AgentHost(AgentRuntime runtime) => _runtime = runtime;

    /// <summary>The API socket clients connect to.</summary>
    public string SocketPath => _runtime.SocketPath;

    /// <summary>Where <c>/metrics</c> is served (in the host namespace), or null when not served.</summary>
    public IPEndPoint? MetricsAddress => _runtime.MetricsAddress;

    /// <summary>The node network namespace this agent enforces.</summary>
    public string NodeNamespace => _runtime.NodeNamespace;

    /// <summary>The agent internals, for tests in this assembly's test project.</summary>
    internal AgentRuntime Runtime => _runtime;

    /// <summary>
    /// Starts an agent: opens (or re-opens) the datapath, restores and reconciles the saved state, starts the proxy
    /// listeners, the metrics endpoint and the API. Returns when the API answers.
    /// </summary>
    /// <exception cref="AgentStartException">The configuration, the kernel or the saved state does not allow starting;
    /// the message says what to do.</exception>
    public static async Task<AgentHost> StartAsync(AgentOptions options, AgentLog? log = null, CancellationToken cancellationToken = default) =>
        new(await AgentRuntime.StartAsync(options, log ?? new AgentLog(), cancellationToken).ConfigureAwait(false));

    /// <summary>Stops the agent; the kernel keeps enforcing (pinned maps, attached programs).</summary>
    public ValueTask DisposeAsync() => _runtime.DisposeAsync();

    /// <summary>
    /// Stops the agent and removes everything of its instance: programs detached, maps and pins deleted, state
    /// directory removed. Traffic of its endpoints is no longer enforced.
    /// </summary>
    public Task DestroyAsync() => _runtime.DestroyAsync();
}
