using System.Globalization;

namespace Membrane.Agent.Hosting;

/// <summary>The agent's log: one line per message on a writer (stderr by default), with a UTC timestamp and a level.</summary>
public sealed class AgentLog
{
    private readonly TextWriter _output;
    private readonly Lock _gate = new();

    /// <summary>Logs to <paramref name="output"/> (standard error when null).</summary>
    public AgentLog(TextWriter? output = null) => _output = output ?? Console.Error;

    /// <summary>An informational message.</summary>
    public void Info(string message) => Write("info", message);

    /// <summary>Something that degrades the agent but does not stop it.</summary>
    public void Warn(string message) => Write("warn", message);

    /// <summary>A failure.</summary>
    public void Error(string message) => Write("error", message);

    private void Write(string level, string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {message}");
        lock (_gate)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }
}
