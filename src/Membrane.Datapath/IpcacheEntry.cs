using System.Net;
using Membrane.Policy.Identity;

namespace Membrane.Datapath;

/// <summary>One ipcache entry: an IPv4 prefix and the identity of the addresses in it.</summary>
/// <param name="Prefix">The prefix (a /32 for a single address).</param>
/// <param name="Identity">Its security identity.</param>
/// <param name="EndpointId">The local endpoint owning the address, or 0.</param>
public sealed record IpcacheEntry(IPNetwork Prefix, NumericIdentity Identity, ushort EndpointId);
