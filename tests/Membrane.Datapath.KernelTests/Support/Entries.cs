using System.Collections.Immutable;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Shorthands for map-state entries in tests.</summary>
internal static class Entries
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmp = 1;

    public static readonly PolicyRef TestPolicy = new("CiliumNetworkPolicy", "default", "kernel-test");

    public static PolicyEntry Allow(params PolicyRef[] from) => new(PolicyVerdict.Allow, L7Protocol.None, Policies(from));

    public static PolicyEntry Deny(params PolicyRef[] from) => new(PolicyVerdict.Deny, L7Protocol.None, Policies(from));

    public static PolicyEntry Redirect(L7Protocol l7, params PolicyRef[] from) => new(PolicyVerdict.Redirect, l7, Policies(from));

    public static PolicyKey In(uint identity, byte protocol = 0, ushort port = 0, byte prefix = 16) =>
        new(TrafficDirection.Ingress, identity, protocol, protocol == 0 ? (ushort)0 : port, protocol == 0 ? (byte)0 : prefix);

    public static PolicyKey Out(uint identity, byte protocol = 0, ushort port = 0, byte prefix = 16) =>
        new(TrafficDirection.Egress, identity, protocol, protocol == 0 ? (ushort)0 : port, protocol == 0 ? (byte)0 : prefix);

    /// <summary>An unenforced direction: one allow-all entry (contracts.md).</summary>
    public static (PolicyKey, PolicyEntry) AllowAll(TrafficDirection direction) =>
        (new PolicyKey(direction, 0, 0, 0, 0), Allow());

    private static ImmutableArray<PolicyRef> Policies(PolicyRef[] from) => from.Length == 0 ? [TestPolicy] : [.. from];
}
