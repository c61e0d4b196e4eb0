using System.Text.Json;
using System.Text.Json.Serialization;
using Membrane.Agent.Api;

namespace Membrane.Agent.State;

/// <summary>An endpoint as the state directory keeps it: what was asked for at creation, and its id.</summary>
internal sealed record EndpointState
{
    public required int Id { get; init; }

    public required string PodName { get; init; }

    public required string Namespace { get; init; }

    public required Dictionary<string, string> Labels { get; init; }

    public Dictionary<string, string> NamespaceLabels { get; init; } = [];

    public string? ServiceAccount { get; init; }

    public required string InterfaceName { get; init; }

    public required string IPv4 { get; init; }

    public List<NamedPortModel> NamedPorts { get; init; } = [];

    public DateTimeOffset Created { get; init; }
}

/// <summary>An allocated identity, kept so numbers stay stable across restarts.</summary>
internal sealed record IdentityState(uint Id, List<string> Labels);

/// <summary>An imported policy text and the policies of it that are still loaded (later imports replace, deletes remove).</summary>
internal sealed record PolicyDocumentState
{
    public required string Name { get; init; }

    public required string Text { get; init; }

    public required long Revision { get; init; }

    public required List<PolicyRefModel> Live { get; init; }
}

/// <summary>Everything the agent restores after a restart (the kernel keeps enforcing meanwhile).</summary>
internal sealed record AgentState
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public long PolicyRevision { get; init; }

    public int NextEndpointId { get; init; } = 1;

    public List<EndpointState> Endpoints { get; init; } = [];

    public List<IdentityState> Identities { get; init; } = [];

    public List<PolicyDocumentState> Documents { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentState))]
internal sealed partial class StateJson : JsonSerializerContext;

/// <summary>
/// Reads and writes <c>state.json</c> in the state directory (mode 0700). A write goes to a temporary file that is
/// flushed to disk and renamed over the old one, so a crash leaves either the old or the new state, never a torn one.
/// </summary>
internal sealed class StateStore
{
    public const string FileName = "state.json";

    public StateStore(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Directory { get; }

    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>The saved state, or null when there is none (a first start).</summary>
    /// <exception cref="InvalidDataException">The file is unreadable or of an unknown version.</exception>
    public AgentState? Load()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        AgentState? state;
        try
        {
            state = JsonSerializer.Deserialize(File.ReadAllText(FilePath), StateJson.Default.AgentState);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{FilePath}: unreadable agent state ({e.Message}); move it away to start empty", e);
        }

        if (state is null || state.Version != AgentState.CurrentVersion)
        {
            throw new InvalidDataException($"{FilePath}: agent state version {state?.Version} is not {AgentState.CurrentVersion}");
        }

        return state;
    }

    public void Save(AgentState state)
    {
        var temporary = FilePath + ".tmp";
        using (var file = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            JsonSerializer.Serialize(file, state, StateJson.Default.AgentState);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, FilePath, overwrite: true);
    }
}
