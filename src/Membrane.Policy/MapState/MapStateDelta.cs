namespace Membrane.Policy.MapState;

/// <summary>
/// The change to one endpoint's map state between two policy revisions: entries to insert or overwrite, and keys to
/// remove. The datapath applies a delta atomically per endpoint.
/// </summary>
/// <param name="EndpointId">The endpoint whose map changes.</param>
/// <param name="Upserts">Entries to add or overwrite.</param>
/// <param name="Deletes">Keys to remove.</param>
public sealed record MapStateDelta(
    ushort EndpointId,
    IReadOnlyList<KeyValuePair<PolicyKey, PolicyEntry>> Upserts,
    IReadOnlyList<PolicyKey> Deletes)
{
    /// <summary>True when nothing changes.</summary>
    public bool IsEmpty => Upserts.Count == 0 && Deletes.Count == 0;
}
