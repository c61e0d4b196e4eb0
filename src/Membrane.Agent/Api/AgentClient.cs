using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Membrane.Agent.Hosting;

namespace Membrane.Agent.Api;

/// <summary>The agent could not be reached (no socket, nobody listening, or the connection broke).</summary>
public sealed class AgentUnavailableException : Exception
{
    /// <summary>Creates the error.</summary>
    public AgentUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The agent answered with an error; <see cref="Error"/> carries its message and itemized errors.</summary>
public sealed class AgentApiException : Exception
{
    /// <summary>Creates the error.</summary>
    public AgentApiException(HttpStatusCode status, ApiError error)
        : base(error.Message)
    {
        Status = status;
        Error = error;
    }

    /// <summary>The HTTP status of the answer (400 invalid input, 404 unknown object, 409 conflict, 500 failure).</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The error body.</summary>
    public ApiError Error { get; }
}

/// <summary>
/// Typed client of a running agent's API (HTTP/1.1 + JSON over the instance's unix socket), used by the CLI and the
/// lab. Thread-safe; dispose when done.
/// </summary>
public sealed class AgentClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Creates a client for the agent listening on <paramref name="socketPath"/>.</summary>
    public AgentClient(string socketPath)
    {
        SocketPath = socketPath ?? throw new ArgumentNullException(nameof(socketPath));
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://membrane-agent/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The socket this client talks to.</summary>
    public string SocketPath { get; }

    /// <summary>Timeout of non-streaming calls (default 60 s: a policy import over many endpoints can take a while).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A client for <paramref name="instance"/>, or when null for <c>MEMBRANE_INSTANCE</c>, or else the only running
    /// instance under the runtime directory.
    /// </summary>
    /// <exception cref="AgentUnavailableException">No instance, or several and none chosen.</exception>
    public static AgentClient Connect(string? instance = null)
    {
        instance ??= Environment.GetEnvironmentVariable(AgentPaths.InstanceVariable) is { Length: > 0 } fromEnv ? fromEnv : null;
        if (instance is not null)
        {
            return new AgentClient(AgentPaths.Socket(instance));
        }

        var running = AgentPaths.ListInstances().Where(i => IsListening(AgentPaths.Socket(i))).ToList();
        return running.Count switch
        {
            1 => new AgentClient(AgentPaths.Socket(running[0])),
            0 => throw new AgentUnavailableException(
                $"no Membrane agent is running (no live socket under {AgentPaths.RunDirectory}); start one with `membrane agent`"),
            _ => throw new AgentUnavailableException(
                $"several agents are running ({string.Join(", ", running)}); choose one with --instance NAME or {AgentPaths.InstanceVariable}=NAME"),
        };
    }

    /// <summary>True when something accepts connections on <paramref name="socketPath"/>.</summary>
    public static bool IsListening(string socketPath)
    {
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits until the agent answers <c>status</c> (it may still be starting), up to <paramref name="timeout"/>.</summary>
    /// <exception cref="AgentUnavailableException">It did not answer in time.</exception>
    public async Task<StatusModel> WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                return await GetStatusAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (AgentUnavailableException e)
            {
                last = e;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new AgentUnavailableException($"the agent at {SocketPath} did not answer within {timeout.TotalSeconds:0} s", last);
    }

    /// <summary><c>membrane status</c>.</summary>
    public Task<StatusModel> GetStatusAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/status", null, ApiJson.Default.StatusModel, cancellationToken);

    /// <summary>Creates an endpoint for a pod, or adopts the existing one of the same pod.</summary>
    public Task<EndpointModel> CreateEndpointAsync(EndpointCreateRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/endpoints", JsonContent.Create(request, ApiJson.Default.EndpointCreateRequest), ApiJson.Default.EndpointModel, cancellationToken);

    /// <summary>Every endpoint, ordered by id.</summary>
    public Task<List<EndpointModel>> ListEndpointsAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/endpoints", null, ApiJson.Default.ListEndpointModel, cancellationToken);

    /// <summary>One endpoint by id, or by pod name (<c>[namespace/]name</c>).</summary>
    public Task<EndpointModel> GetEndpointAsync(string idOrPod, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/endpoints/" + Uri.EscapeDataString(idOrPod), null, ApiJson.Default.EndpointModel, cancellationToken);

    /// <summary>Removes an endpoint (its programs are detached and its maps deleted).</summary>
    public Task<EndpointModel> DeleteEndpointAsync(string idOrPod, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "v1/endpoints/" + Uri.EscapeDataString(idOrPod), null, ApiJson.Default.EndpointModel, cancellationToken);

    /// <summary>Every identity in use (reserved ones included), ordered by number.</summary>
    public Task<List<IdentityModel>> ListIdentitiesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/identities", null, ApiJson.Default.ListIdentityModel, cancellationToken);

    /// <summary>One identity.</summary>
    public Task<IdentityModel> GetIdentityAsync(uint id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"v1/identities/{id}", null, ApiJson.Default.IdentityModel, cancellationToken);

    /// <summary>Imports policy texts (add or replace by name), atomically; throws <see cref="AgentApiException"/>
    /// with every error (file:line:column) when anything is invalid, and then nothing changed.</summary>
    public Task<PolicyChangeResponse> ImportPoliciesAsync(PolicyImportRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/policies", JsonContent.Create(request, ApiJson.Default.PolicyImportRequest), ApiJson.Default.PolicyChangeResponse, cancellationToken);

    /// <summary>Deletes policies by name, or all of them, atomically.</summary>
    public Task<PolicyChangeResponse> DeletePoliciesAsync(PolicyDeleteRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/policies/delete", JsonContent.Create(request, ApiJson.Default.PolicyDeleteRequest), ApiJson.Default.PolicyChangeResponse, cancellationToken);

    /// <summary>The loaded policies; with <paramref name="withText"/> the text of each one's document too.</summary>
    public Task<PolicyListResponse> ListPoliciesAsync(bool withText = false, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, withText ? "v1/policies?text=true" : "v1/policies", null, ApiJson.Default.PolicyListResponse, cancellationToken);

    /// <summary>The texts of the loaded policies with the policies of each still loaded (a live trace loads them).</summary>
    public Task<PolicySourcesResponse> ListPolicySourcesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/policies/sources", null, ApiJson.Default.PolicySourcesResponse, cancellationToken);

    /// <summary>An endpoint's kernel policy map, decoded.</summary>
    public Task<BpfPolicyResponse> GetBpfPolicyAsync(string idOrPod, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/bpf/policy/" + Uri.EscapeDataString(idOrPod), null, ApiJson.Default.BpfPolicyResponse, cancellationToken);

    /// <summary>The conntrack table.</summary>
    public Task<List<ConntrackEntryModel>> ListConntrackAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/bpf/ct", null, ApiJson.Default.ListConntrackEntryModel, cancellationToken);

    /// <summary>The kernel ipcache.</summary>
    public Task<List<IpcacheEntryModel>> ListIpcacheAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/bpf/ipcache", null, ApiJson.Default.ListIpcacheEntryModel, cancellationToken);

    /// <summary>The Prometheus exposition (the same as <c>127.0.0.1:9962/metrics</c>).</summary>
    public async Task<string> GetMetricsAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Flows matching <c>membrane observe</c> arguments, one Hubble <c>GetFlowsResponse</c> JSON object per line; with
    /// <c>--follow</c> the stream lasts until cancelled.
    /// </summary>
    public IAsyncEnumerable<string> ObserveAsync(ObserveRequest request, CancellationToken cancellationToken = default) =>
        StreamLinesAsync("v1/flows", JsonContent.Create(request, ApiJson.Default.ObserveRequest), cancellationToken);

    /// <summary>A live event stream as <c>cilium monitor</c> lines (or JSON objects), until cancelled.</summary>
    public IAsyncEnumerable<string> MonitorAsync(MonitorRequest request, CancellationToken cancellationToken = default) =>
        StreamLinesAsync("v1/monitor", JsonContent.Create(request, ApiJson.Default.MonitorRequest), cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(method, path) { Content = content };
        try
        {
            using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            return await response.Content.ReadFromJsonAsync(type, timeout.Token).ConfigureAwait(false)
                ?? throw new AgentUnavailableException($"the agent at {SocketPath} sent an empty answer to {method} /{path}");
        }
        catch (JsonException e)
        {
            throw new AgentUnavailableException($"the agent at {SocketPath} sent an unreadable answer to {method} /{path}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentUnavailableException($"the Membrane agent at {SocketPath} did not answer {method} /{path} within {RequestTimeout.TotalSeconds:0} s", e);
        }
    }

    private async IAsyncEnumerable<string> StreamLinesAsync(string path, HttpContent content, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream);
            while (true)
            {
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw new AgentUnavailableException($"the stream from the agent at {SocketPath} broke: {e.Message}", e);
                }

                if (line is null)
                {
                    yield break;
                }

                if (line.Length > 0)
                {
                    yield return line;
                }
            }
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new AgentUnavailableException($"cannot reach the Membrane agent at {SocketPath}: {Root(e).Message} (is `membrane agent` running?)", e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            ApiError? error = null;
            try
            {
                error = await response.Content.ReadFromJsonAsync(ApiJson.Default.ApiError, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
            }

            throw new AgentApiException(response.StatusCode, error ?? new ApiError($"the agent answered {(int)response.StatusCode} {response.ReasonPhrase}", []));
        }
    }

    private static Exception Root(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
