namespace Membrane.Policy.Identity;

/// <summary>
/// A numeric security identity (Cilium's <c>NumericIdentity</c>). 0 means "any identity" in policy maps;
/// 1–10 are Cilium's reserved identities; ≥ 256 are allocated from label sets; values with the local scope bit
/// (<c>1 &lt;&lt; 24</c>) are node-local CIDR identities.
/// </summary>
public readonly record struct NumericIdentity(uint Value) : IComparable<NumericIdentity>
{
    /// <summary>Wildcard in policy maps ("any identity"); also "unknown".</summary>
    public static readonly NumericIdentity Any = new(0);

    /// <summary><c>reserved:host</c>, the local node.</summary>
    public static readonly NumericIdentity Host = new(1);

    /// <summary><c>reserved:world</c>, everything outside the cluster.</summary>
    public static readonly NumericIdentity World = new(2);

    /// <summary><c>reserved:unmanaged</c>, endpoints not managed by Membrane.</summary>
    public static readonly NumericIdentity Unmanaged = new(3);

    /// <summary><c>reserved:health</c>.</summary>
    public static readonly NumericIdentity Health = new(4);

    /// <summary><c>reserved:init</c>, an endpoint whose labels are not resolved yet.</summary>
    public static readonly NumericIdentity Init = new(5);

    /// <summary><c>reserved:remote-node</c>, any other node.</summary>
    public static readonly NumericIdentity RemoteNode = new(6);

    /// <summary><c>reserved:kube-apiserver</c>.</summary>
    public static readonly NumericIdentity KubeApiServer = new(7);

    /// <summary><c>reserved:ingress</c>.</summary>
    public static readonly NumericIdentity Ingress = new(8);

    /// <summary><c>reserved:world-ipv4</c>.</summary>
    public static readonly NumericIdentity WorldIPv4 = new(9);

    /// <summary><c>reserved:world-ipv6</c>.</summary>
    public static readonly NumericIdentity WorldIPv6 = new(10);

    /// <summary>First identity allocated from a label set (Cilium's <c>MinimalNumericIdentity</c>).</summary>
    public const uint MinimalAllocated = 256;

    /// <summary>Upper bound (inclusive) of cluster-wide identities for cluster-id 0.</summary>
    public const uint MaximalAllocated = 65535;

    /// <summary>Scope bit of node-local identities (CIDR identities): <c>1 &lt;&lt; 24</c>.</summary>
    public const uint LocalScopeFlag = 1u << 24;

    /// <summary>True for identities 1–10 (and the other values below <see cref="MinimalAllocated"/>).</summary>
    public bool IsReserved => Value is > 0 and < MinimalAllocated;

    /// <summary>True for node-local (CIDR) identities.</summary>
    public bool IsLocal => (Value & 0xFF00_0000u) == LocalScopeFlag;

    /// <summary>The reserved name without source (<c>host</c>, <c>world</c>, ...), or null if not reserved.</summary>
    public string? ReservedName => Value switch
    {
        1 => "host",
        2 => "world",
        3 => "unmanaged",
        4 => "health",
        5 => "init",
        6 => "remote-node",
        7 => "kube-apiserver",
        8 => "ingress",
        9 => "world-ipv4",
        10 => "world-ipv6",
        _ => null,
    };

    /// <inheritdoc />
    public int CompareTo(NumericIdentity other) => Value.CompareTo(other.Value);

    /// <summary>The decimal value.</summary>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Implicit conversion to the raw value stored in kernel maps.</summary>
    public static implicit operator uint(NumericIdentity id) => id.Value;
}
