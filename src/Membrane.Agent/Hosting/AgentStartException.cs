namespace Membrane.Agent.Hosting;

/// <summary>The agent could not start (configuration, kernel, or another agent of the instance running).</summary>
public sealed class AgentStartException : Exception
{
    /// <summary>Creates the error.</summary>
    public AgentStartException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
