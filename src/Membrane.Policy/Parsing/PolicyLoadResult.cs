using Membrane.Policy.Model;

namespace Membrane.Policy.Parsing;

/// <summary>
/// What a load produced: the policies read and every error found. A set with any error is invalid as a whole:
/// callers apply nothing from it (<see cref="Policies"/> then holds what could be read, for tooling only).
/// </summary>
public sealed class PolicyLoadResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="policies">Policies in the order read (files in the order given, directories sorted by path).</param>
    /// <param name="errors">Errors, ordered by file, line and column.</param>
    /// <param name="files">The files read.</param>
    public PolicyLoadResult(IReadOnlyList<PolicyResource> policies, IReadOnlyList<PolicyError> errors, IReadOnlyList<string> files)
    {
        Policies = policies;
        Errors = errors;
        Files = files;
    }

    /// <summary>The policies read, in order.</summary>
    public IReadOnlyList<PolicyResource> Policies { get; }

    /// <summary>Every problem found, each with file, line, column and field path.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }

    /// <summary>The files read (for text, the name it was given).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>True when there is no error: only then may the policies be applied.</summary>
    public bool IsValid => Errors.Count == 0;
}
