using System.Text;
using Xunit.Abstractions;

namespace Membrane.Agent.Tests.Support;

/// <summary>A writer that forwards whole lines to the test's output (the agent's log, shown when a test fails).</summary>
internal sealed class TestOutputWriter(ITestOutputHelper output) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_line)
        {
            if (value == '\n')
            {
                var text = _line.ToString();
                _line.Clear();
                try
                {
                    output.WriteLine(text);
                }
                catch (InvalidOperationException)
                {
                    // The test finished; the agent may still log while it stops.
                }
            }
            else if (value != '\r')
            {
                _line.Append(value);
            }
        }
    }
}
