namespace Membrane.Policy.Model;

/// <summary>Direction of traffic relative to the endpoint whose policy applies (Cilium: 0 ingress, 1 egress).</summary>
public enum TrafficDirection : byte
{
    /// <summary>Traffic entering the endpoint.</summary>
    Ingress = 0,

    /// <summary>Traffic leaving the endpoint.</summary>
    Egress = 1,
}
