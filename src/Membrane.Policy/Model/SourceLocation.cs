namespace Membrane.Policy.Model;

/// <summary>Where a value was written: file, 1-based line and column. Every user-facing error names one.</summary>
/// <param name="File">Path of the file as given by the user (or <c>&lt;stdin&gt;</c>).</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    /// <summary><c>file:line:column</c>, or just <c>file</c> when the problem concerns the whole file (line 0).</summary>
    public override string ToString() => Line == 0 ? File : $"{File}:{Line}:{Column}";
}

/// <summary>
/// One problem found in a policy: location, field path (e.g. <c>spec.ingress[0].toPorts[0].rules.http[0].path</c>)
/// and message. Printed as <c>users.yaml:14:9: spec.ingress[0]...path: invalid regex "/api(": missing )</c>.
/// </summary>
/// <param name="Location">Where the offending value (or its parent, for a missing field) was written.</param>
/// <param name="FieldPath">Path from the document root, in the resource's own field names.</param>
/// <param name="Message">What is wrong, using Cilium's wording where Cilium has one.</param>
public sealed record PolicyError(SourceLocation Location, string FieldPath, string Message)
{
    /// <inheritdoc />
    public override string ToString() => FieldPath.Length == 0 ? $"{Location}: {Message}" : $"{Location}: {FieldPath}: {Message}";
}
