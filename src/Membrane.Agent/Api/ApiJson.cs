using System.Text.Json;
using System.Text.Json.Serialization;

namespace Membrane.Agent.Api;

/// <summary>The JSON settings of the agent API (camelCase, enums as strings), source generated.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(EndpointCreateRequest))]
[JsonSerializable(typeof(EndpointModel))]
[JsonSerializable(typeof(List<EndpointModel>))]
[JsonSerializable(typeof(IdentityModel))]
[JsonSerializable(typeof(List<IdentityModel>))]
[JsonSerializable(typeof(PolicyImportRequest))]
[JsonSerializable(typeof(PolicyDeleteRequest))]
[JsonSerializable(typeof(PolicyChangeResponse))]
[JsonSerializable(typeof(PolicyListResponse))]
[JsonSerializable(typeof(PolicySourcesResponse))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(ObserveRequest))]
[JsonSerializable(typeof(MonitorRequest))]
[JsonSerializable(typeof(BpfPolicyResponse))]
[JsonSerializable(typeof(List<ConntrackEntryModel>))]
[JsonSerializable(typeof(List<IpcacheEntryModel>))]
[JsonSerializable(typeof(StatusModel))]
public sealed partial class ApiJson : JsonSerializerContext
{
    /// <summary>Indented output for people (<c>-o json</c>).</summary>
    public static ApiJson Indented { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    });
}
