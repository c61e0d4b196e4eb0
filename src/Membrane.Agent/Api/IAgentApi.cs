namespace Membrane.Agent.Api;

/// <summary>
/// What the API server serves. Methods throw <see cref="ApiProblem"/> for requests they refuse; streaming methods write
/// lines to the response until it is aborted or the stream ends.
/// </summary>
internal interface IAgentApi
{
    StatusModel GetStatus();

    EndpointModel CreateEndpoint(EndpointCreateRequest request);

    IReadOnlyList<EndpointModel> ListEndpoints();

    EndpointModel GetEndpoint(string idOrPod);

    EndpointModel DeleteEndpoint(string idOrPod);

    IReadOnlyList<IdentityModel> ListIdentities();

    IdentityModel GetIdentity(uint id);

    PolicyChangeResponse ImportPolicies(PolicyImportRequest request);

    PolicyChangeResponse DeletePolicies(PolicyDeleteRequest request);

    PolicyListResponse ListPolicies(bool withText);

    PolicySourcesResponse ListPolicySources();

    BpfPolicyResponse GetBpfPolicy(string idOrPod);

    IReadOnlyList<ConntrackEntryModel> ListConntrack();

    IReadOnlyList<IpcacheEntryModel> ListIpcache();

    /// <summary>Validates an observe request before the stream starts (throws <see cref="ApiProblem"/>).</summary>
    object PrepareObserve(ObserveRequest request);

    /// <summary>Streams the flows of a prepared observe request as Hubble JSON lines.</summary>
    Task ObserveAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken);

    /// <summary>Validates a monitor request before the stream starts (throws <see cref="ApiProblem"/>).</summary>
    object PrepareMonitor(MonitorRequest request);

    /// <summary>Streams monitor lines of a prepared request until cancelled.</summary>
    Task MonitorAsync(object prepared, Func<string, bool, ValueTask> writeLine, CancellationToken cancellationToken);

    void WriteMetrics(TextWriter output);
}
