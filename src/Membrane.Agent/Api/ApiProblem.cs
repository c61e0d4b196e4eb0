namespace Membrane.Agent.Api;

/// <summary>A request the agent refuses: becomes an <see cref="ApiError"/> answer with <see cref="Status"/>.</summary>
internal sealed class ApiProblem(int status, string message, IReadOnlyList<string>? errors = null) : Exception(message)
{
    public int Status { get; } = status;

    public IReadOnlyList<string> Errors { get; } = errors ?? [];

    public static ApiProblem BadRequest(string message, IReadOnlyList<string>? errors = null) => new(400, message, errors);

    public static ApiProblem NotFound(string message) => new(404, message);

    public static ApiProblem Conflict(string message) => new(409, message);
}
