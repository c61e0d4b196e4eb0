using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Membrane.Agent.Api;

namespace Membrane.Cli.Commands;

/// <summary>
/// What every verb that talks to a running agent shares: the global <c>--instance</c> option, <c>-o json|table</c>,
/// and one way of turning agent errors into messages on stderr and exit codes (0 success, 1 the agent refused or
/// could not be reached, 2 bad usage).
/// </summary>
internal static class AgentCall
{
    /// <summary><c>--instance NAME</c>: which agent to talk to (default: <c>MEMBRANE_INSTANCE</c>, else the only one running).</summary>
    public static Option<string?> Instance { get; } = new("--instance")
    {
        Description = "The agent instance to talk to (default: $MEMBRANE_INSTANCE, else the only one running).",
        Recursive = true,
    };

    /// <summary>A <c>-o, --output</c> option accepting <paramref name="formats"/>; the first is the default.</summary>
    public static Option<string> Output(params string[] formats)
    {
        var option = new Option<string>("--output", "-o")
        {
            Description = $"Output format: {string.Join(", ", formats)}.",
            DefaultValueFactory = _ => formats[0],
        };
        option.AcceptOnlyFromAmong(formats);
        return option;
    }

    /// <summary>Runs <paramref name="body"/> with a client of the chosen agent and maps failures to exit codes.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<AgentClient, TextWriter, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        AgentClient client;
        try
        {
            client = AgentClient.Connect(parse.GetValue(Instance));
        }
        catch (Exception e) when (e is AgentUnavailableException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }

        using (client)
        {
            try
            {
                return await body(client, output, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentApiException e)
            {
                foreach (var item in e.Error.Errors)
                {
                    error.WriteLine(item);
                }

                error.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (AgentUnavailableException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
        }
    }

    /// <summary>Writes a value as indented JSON (the <c>-o json</c> of read verbs).</summary>
    public static void WriteJson<T>(TextWriter output, T value, JsonTypeInfo<T> type)
    {
        output.Write(JsonSerializer.Serialize(value, type));
        output.Write('\n');
    }
}
