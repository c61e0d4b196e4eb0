namespace Membrane.Policy.L7.Http;

/// <summary>
/// Read access to a request's header fields for rule evaluation, implemented by the proxy over its own header store
/// (a struct, so evaluation stays allocation-free). Names are compared case-insensitively by the implementation.
/// </summary>
public interface IHttpHeaderView
{
    /// <summary>Number of values of the field <paramref name="name"/>; 0 when absent.</summary>
    int Count(string name);

    /// <summary>The <paramref name="index"/>-th value of the field <paramref name="name"/>.</summary>
    ReadOnlySpan<char> Value(string name, int index);
}

/// <summary>A header change that a matched rule's <c>headerMatches</c> mismatch action asks the proxy to make.</summary>
/// <param name="Action"><see cref="HeaderMismatchAction.Add"/>, <see cref="HeaderMismatchAction.Delete"/>,
/// <see cref="HeaderMismatchAction.Replace"/> or <see cref="HeaderMismatchAction.Log"/> (record only).</param>
/// <param name="Name">Header name.</param>
/// <param name="Value">Value to add or set; null for delete and log.</param>
public readonly record struct HttpHeaderAction(HeaderMismatchAction Action, string Name, string? Value);
