/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the BPF programs share with C#: constants, the layout of every map key, map
 * value and event, and the drop-reason table. src/Membrane.Datapath/Interop/NativeStructs.cs mirrors the structs
 * and Events/DropReason.cs the table; tests/Membrane.Datapath.KernelTests/Interop/LayoutTests.cs fails when
 * either drifts (it reads the BTF of the compiled objects and expands the table with the preprocessor).
 *
 * Byte order: fields named __be* are network order; everything else is host order.
 *
 * Map keys are 8-byte aligned so that the programs can write them with whole 64-bit stores (lib/common.h,
 * store_u64): alignment adds no padding to any of them, so sizes and offsets (and the C# mirrors) are unaffected.
 */
#ifndef MEMBRANE_SHARED_H
#define MEMBRANE_SHARED_H

#include <linux/types.h>

/* ---- skb->mark values (docs/design/contracts.md, "Datapath <-> Proxy") ---- */
#define MARK_MAGIC_MASK		0x0F00
#define MARK_MAGIC_TO_PROXY	0x0200	/* set by from-container: route locally to the proxy socket */
#define MARK_MAGIC_FROM_PROXY	0x0B00	/* set by the proxy (SO_MARK) on its upstream sockets */
#define MARK_IDENTITY_SHIFT	16	/* FROM_PROXY marks carry the source identity in bits 16..31 */

/* ---- reserved identities (Cilium pkg/identity/numericidentity.go) ---- */
#define IDENTITY_ANY		0
#define IDENTITY_HOST		1
#define IDENTITY_WORLD		2

/* ---- traffic direction relative to the endpoint (Membrane.Policy.Model.TrafficDirection) ---- */
#define DIR_INGRESS		0
#define DIR_EGRESS		1

/* ---- policy verdicts and L7 protocols (Membrane.Policy.MapState.PolicyVerdict / L7Protocol) ---- */
#define VERDICT_ALLOW		0
#define VERDICT_DENY		1
#define VERDICT_REDIRECT	2

#define L7_NONE			0
#define L7_HTTP			1
#define L7_KAFKA		2

/* ---- map sizes that are part of the pinned-map definition (bump the pin version "v1" when one changes) ---- */
#define ENDPOINT_IFINDEX_MAX	65536	/* endpoints are indexed by the host-side interface index */
#define ENDPOINT_ID_MAX		65536	/* policy_maps is indexed by endpoint id (ushort) */
#define POLICY_MAP_MAX		16384	/* entries per endpoint policy map (Cilium's bpf-policy-map-max) */
#define IPCACHE_HOSTS_MAX	131072
#define IPCACHE_CIDRS_MAX	16384
#define METRICS_MAX		512	/* index = reason * 2 + direction */
#define COUNTERS_MAX		8

/* ---- per-endpoint policy map (hash; see docs/datapath.md "Policy lookup") ---- */
/*
 * policy_key.traffic packs the direction (bit 0) and the port prefix length 0..16 (bits 1..5). Protocol 0 keys
 * (any protocol) have port 0 and prefix 0. Ports are masked to their prefix. Two reserved keys per map, with
 * traffic = POLICY_META_TRAFFIC(dir) and everything else 0, hold a struct policy_meta instead of a policy_value.
 */
#define POLICY_TRAFFIC_DIRECTION	0x01
#define POLICY_TRAFFIC_PREFIX_SHIFT	1
#define POLICY_META_TRAFFIC(dir)	(0xFE | (dir))
#define POLICY_PREFIX_ANY_PROTOCOL	17	/* bit in policy_meta: a protocol-0 entry exists */
#define POLICY_META_HAS_REDIRECT	0x80000000	/* in policy_meta.any_prefixes: the direction has redirect entries */

struct policy_key {
	__u32 identity;		/* peer identity; 0 = any */
	__be16 dport;		/* destination port (ICMP: type), masked to the prefix */
	__u8 protocol;		/* IP protocol; 0 = any */
	__u8 traffic;		/* direction | port prefix length << 1 */
} __attribute__((aligned(8)));

struct policy_value {
	__u32 cookie;		/* names the policies behind the entry (interned by C#) */
	__u16 proxy_port;	/* VERDICT_REDIRECT: proxy listener port; else 0 */
	__u8 verdict;		/* VERDICT_* */
	__u8 l7_protocol;	/* L7_* */
};

struct policy_meta {
	__u32 peer_prefixes;	/* bit p: an entry with a specific identity and port prefix p exists; bit 17: protocol 0 */
	__u32 any_prefixes;	/* the same for identity-0 entries; plus POLICY_META_HAS_REDIRECT */
};

/* ---- endpoints, indexed by the host-side interface index ---- */
#define ENDPOINT_F_ACTIVE	0x0001

/*
 * ingress_meta and egress_meta spare the endpoint's own decisions the meta lookup in its policy map. It always holds at least
 * the prefix lengths of every policy map a program may be using for the endpoint (probing a length that is absent
 * only costs a miss): C# widens it before a swap that adds lengths, waits for one RCU grace period so that no
 * program still holds the narrower value, swaps, and narrows it after the swap (docs/datapath.md).
 */
struct endpoint_info {
	__be32 ipv4;			/* the only source address the endpoint may use */
	__u32 identity;
	__u32 policy_generation;	/* bumped after every policy swap: established flows are re-checked */
	__u16 endpoint_id;
	__u16 flags;			/* ENDPOINT_F_* */
	struct policy_meta ingress_meta;	/* a superset of the active map's meta entry for ingress */
	struct policy_meta egress_meta;		/* ... and for egress */
};

/* ---- ipcache: /32 hash (ipcache_hosts, key = __be32 address) and prefix LPM trie (ipcache_cidrs) ---- */
#define IPCACHE_F_LOCAL_ENDPOINT	0x0001
/*
 * Set on a local endpoint's entry while its ingress policy may hold redirect entries: from-container reads the
 * destination's policy meta entry only then. A hint that is never too small: C# sets it before a policy with
 * redirects becomes active and clears it only after a policy without them is active (docs/datapath.md).
 */
#define IPCACHE_F_INGRESS_REDIRECT	0x0002

struct ipcache_prefix_key {
	__u32 prefixlen;	/* 0..32 */
	__be32 addr;
} __attribute__((aligned(8)));

struct ipcache_value {
	__u32 identity;
	__u16 endpoint_id;	/* local endpoint owning the address (IPCACHE_F_LOCAL_ENDPOINT), else 0 */
	__u16 flags;
};

/* ---- connection tracking ---- */
/*
 * One entry per connection and per enforcing hook: direction DIR_EGRESS entries are created by from-container
 * for connections the endpoint opens, DIR_INGRESS entries by to-container for connections it accepts. Keys hold
 * the tuple of the first packet (ICMP echo: identifier in sport for requests, in dport for replies).
 */
#define CT_F_SEEN_REPLY		0x0001
#define CT_F_FORWARD_FIN	0x0002
#define CT_F_REPLY_FIN		0x0004
#define CT_F_RESET		0x0008
#define CT_F_PROXY_REDIRECT	0x0010	/* forward packets go to proxy_port with bpf_sk_assign */
#define CT_F_PROXY_UPSTREAM	0x0020	/* opened by the proxy: replies are steered back to it */

struct ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 direction;		/* DIR_* of the hook that created the entry */
	__u16 pad;
} __attribute__((aligned(8)));

struct ct_entry {
	__u64 forward_packets;
	__u64 forward_bytes;
	__u64 reply_packets;
	__u64 reply_bytes;
	__u32 expires;			/* CLOCK_MONOTONIC seconds; the entry is dead at or after this time */
	__u32 created;			/* CLOCK_MONOTONIC seconds */
	__u32 policy_generation;	/* endpoint generation the verdict was taken at */
	__u32 src_identity;		/* identity of the side that opened the connection */
	__u32 dst_identity;
	__u32 cookie;			/* policy cookie of the verdict */
	__u16 endpoint_id;		/* endpoint whose policy created the entry */
	__u16 proxy_port;		/* CT_F_PROXY_REDIRECT: listener port */
	__u16 flags;			/* CT_F_* */
	__u8 forward_tcp_flags;		/* union of TCP flags seen in each direction */
	__u8 reply_tcp_flags;
};

/* ---- datapath configuration (array of one) ---- */
#define CONFIG_F_POLICY_VERDICT_EVENTS	0x0001	/* one event per policy decision (new flows, re-checks) */
#define CONFIG_F_TRACE_EVENTS		0x0002	/* trace events for new flows and TCP state changes */
#define CONFIG_F_TRACE_ALL_PACKETS	0x0004	/* trace events for every forwarded packet */

struct datapath_config {
	__u32 flags;			/* CONFIG_F_* */
	__u32 ct_lifetime_tcp;		/* seconds; established TCP (Cilium: 21600) */
	__u32 ct_lifetime_tcp_syn;	/* until the first reply (Cilium: 60) */
	__u32 ct_lifetime_tcp_close;	/* after RST or FIN in both directions (Cilium: 10) */
	__u32 ct_lifetime_other;	/* UDP, SCTP, ICMP echo (Cilium: 60) */
	__u32 pad;
};

/* ---- events (ring buffer "events") ---- */
/* Types follow Cilium's monitor message types (pkg/monitor/api/types.go). */
#define EVENT_DROP		1
#define EVENT_TRACE		4
#define EVENT_POLICY_VERDICT	5

/* Trace observation points follow Hubble's TraceObservationPoint (api/v1/flow/flow.proto). */
#define TRACE_TO_PROXY		1
#define TRACE_TO_STACK		3
#define TRACE_FROM_ENDPOINT	5
#define TRACE_FROM_PROXY	6
#define TRACE_TO_ENDPOINT	101

/* Trace reasons follow Hubble's TraceReason. */
#define TRACE_REASON_NEW		1
#define TRACE_REASON_ESTABLISHED	2
#define TRACE_REASON_REPLY		3
#define TRACE_REASON_RELATED		4
#define TRACE_REASON_REOPENED		5

/* Policy match types follow Cilium's policy-verdict match types. */
#define MATCH_NONE		0
#define MATCH_L3_ONLY		1
#define MATCH_L3_L4		2
#define MATCH_L4_ONLY		3
#define MATCH_ALL		4

#define EVENT_F_REPLY		0x01	/* the packet belongs to the reply direction of its connection */
#define EVENT_F_FROM_PROXY	0x02	/* the packet carried the proxy's FROM_PROXY mark */
#define EVENT_F_REVALIDATED	0x04	/* decision taken for an established flow after a policy change */

struct datapath_event {
	__u64 timestamp_ns;	/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u8 type;		/* EVENT_* */
	__u8 sub_type;		/* trace: TRACE_* point; policy verdict: VERDICT_*; drop: 0 */
	__u16 reason;		/* drop: drop reason; trace: TRACE_REASON_*; verdict: drop reason or 0 */
	__u32 ifindex;		/* interface the packet was seen on */
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__u16 sport;		/* ICMP: type */
	__u16 dport;		/* ICMP: code */
	__u8 protocol;
	__u8 tcp_flags;
	__u8 direction;		/* DIR_* relative to endpoint_id */
	__u8 flags;		/* EVENT_F_* */
	__u16 endpoint_id;	/* endpoint whose policy applied */
	__u16 proxy_port;
	__u32 cookie;		/* policy cookie of the decision, 0 if none */
	__u32 packet_length;
	__u8 match_type;	/* MATCH_* */
	__u8 pad[3];
};

/* ---- per-reason packet/byte counters (per-CPU array "metrics", index = reason * 2 + direction) ---- */
struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

#define METRICS_REASON_FORWARDED	0

/* ---- per-CPU counters ("counters" array) ---- */
#define COUNTER_EVENTS_LOST		0	/* ring buffer full: event not delivered */
#define COUNTER_PROXY_REDIRECTS		1	/* packets assigned to a proxy socket */
#define COUNTER_POLICY_REVALIDATIONS	2	/* established flows re-checked after a policy change */

/*
 * Drop reasons: X(NAME, code, "text", hubble_name). Codes and texts are Cilium's (bpf/lib/common.h,
 * pkg/monitor/api/drop.go); hubble_name is the flow.proto DropReason. Events/DropReason.cs mirrors this table.
 */
#define MEMBRANE_DROP_REASONS(X) \
	X(INVALID_SOURCE_IP,	132, "Invalid source ip", INVALID_SOURCE_IP) \
	X(POLICY_DENIED,	133, "Policy denied", POLICY_DENIED) \
	X(INVALID_PACKET,	134, "Invalid packet", INVALID_PACKET_DROPPED) \
	X(CT_INVALID_HEADER,	135, "CT: Truncated or invalid header", CT_TRUNCATED_OR_INVALID_HEADER) \
	X(CT_UNKNOWN_PROTOCOL,	137, "CT: Unknown L4 protocol", CT_UNKNOWN_L4_PROTOCOL) \
	X(UNSUPPORTED_L3_PROTOCOL, 139, "Unsupported L3 protocol", UNSUPPORTED_L3_PROTOCOL) \
	X(CT_CREATE_FAILED,	155, "CT: Map insertion failed", CT_MAP_INSERTION_FAILED) \
	X(FRAGMENTS_NOT_SUPPORTED, 157, "IP fragmentation not supported", IP_FRAGMENTATION_NOT_SUPPORTED) \
	X(NO_CONFIGURATION,	165, "No configuration available to perform policy decision", NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION) \
	X(INVALID_IDENTITY,	171, "Invalid identity", INVALID_IDENTITY) \
	X(PROXY_LOOKUP_FAILED,	178, "Proxy lookup failed", PROXY_LOOKUP_FAILED) \
	X(PROXY_SET_FAILED,	179, "Proxy assignment failed", PROXY_SET_FAILED) \
	X(PROXY_UNKNOWN_PROTOCOL, 180, "Proxy redirection not supported for protocol", PROXY_UNKNOWN_PROTOCOL) \
	X(POLICY_DENY,		181, "Policy denied by denylist", POLICY_DENY) \
	X(ENDPOINT_NOT_READY,	203, "Endpoint policy program not available", DROP_EP_NOT_READY)

#define MEMBRANE_DROP_ENUM(name, code, text, hubble) DROP_##name = code,
enum membrane_drop_reason {
	MEMBRANE_DROP_REASONS(MEMBRANE_DROP_ENUM)
};
#undef MEMBRANE_DROP_ENUM

#endif /* MEMBRANE_SHARED_H */
