namespace Membrane.Policy.L7.Http;

/// <summary>
/// One <c>toPorts[].rules.http[]</c> entry as written in a policy (Cilium's <c>PortRuleHTTP</c>). All fields are
/// ANDed; rules in a list are ORed. Null or empty means "any".
/// </summary>
/// <param name="Method">Regex fully matched against the request method (case-sensitive).</param>
/// <param name="Path">Regex fully matched against the normalized path including the query string.</param>
/// <param name="Host">Regex fully matched against the Host header or <c>:authority</c>.</param>
/// <param name="Headers">Required headers: <c>"Name: value"</c> (exact value) or <c>"Name"</c> (presence).</param>
/// <param name="HeaderMatches">Header matches with an optional mismatch action.</param>
public sealed record HttpRule(
    string? Method = null,
    string? Path = null,
    string? Host = null,
    IReadOnlyList<string>? Headers = null,
    IReadOnlyList<HeaderMatch>? HeaderMatches = null);

/// <summary>What to do when a <see cref="HeaderMatch"/> does not match (Cilium's <c>mismatch</c>).</summary>
public enum HeaderMismatchAction
{
    /// <summary>Unset: the rule does not match.</summary>
    Fail = 0,

    /// <summary><c>LOG</c>: the rule still matches; the mismatch is recorded.</summary>
    Log,

    /// <summary><c>ADD</c>: the rule matches; the expected value is appended to the header.</summary>
    Add,

    /// <summary><c>DELETE</c>: the rule matches; the header is removed.</summary>
    Delete,

    /// <summary><c>REPLACE</c>: the rule matches; the header is set to the expected value.</summary>
    Replace,
}

/// <summary>
/// One <c>headerMatches[]</c> entry. An empty or null <see cref="Value"/> means presence; otherwise the value must
/// equal all of the header's values joined by <c>,</c> (compared in constant time, as Cilium's Envoy filter does).
/// </summary>
/// <param name="Name">Header name (case-insensitive).</param>
/// <param name="Value">Expected value, already resolved from a secret if the policy named one.</param>
/// <param name="Mismatch">Action on mismatch.</param>
public sealed record HeaderMatch(string Name, string? Value, HeaderMismatchAction Mismatch = HeaderMismatchAction.Fail)
{
    /// <summary>
    /// <c>secret</c>: the Kubernetes Secret holding the expected value, or null. Membrane has no secret store: the
    /// inline <see cref="Value"/> is used, which is Cilium's fallback when the secret cannot be found.
    /// </summary>
    public HeaderSecret? Secret { get; init; }
}

/// <summary>A <c>headerMatches[].secret</c> reference.</summary>
/// <param name="Namespace"><c>secret.namespace</c>, or null.</param>
/// <param name="Name"><c>secret.name</c>.</param>
public sealed record HeaderSecret(string? Namespace, string Name);
