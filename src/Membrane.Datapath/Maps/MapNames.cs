namespace Membrane.Datapath.Maps;

/// <summary>Names of the pinned maps (bpf/lib/maps.h).</summary>
internal static class MapNames
{
    public const string Endpoints = "endpoints";
    public const string PolicyMaps = "policy_maps";
    public const string IpcacheHosts = "ipcache_hosts";
    public const string IpcacheCidrs = "ipcache_cidrs";
    public const string Conntrack = "conntrack";
    public const string Events = "events";
    public const string Metrics = "metrics";
    public const string Counters = "counters";
    public const string Config = "config";

    public static readonly string[] All = [Endpoints, PolicyMaps, IpcacheHosts, IpcacheCidrs, Conntrack, Events, Metrics, Counters, Config];
}
