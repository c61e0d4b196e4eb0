/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking in an LRU hash. States and lifetimes follow Cilium (bpf/lib/conntrack.h): an entry is created
 * by the first packet the policy allows; TCP entries live ct_lifetime_tcp_syn until a reply is seen, then
 * ct_lifetime_tcp, and ct_lifetime_tcp_close after a RST or a FIN in both directions; other protocols live
 * ct_lifetime_other, refreshed by every packet. Expired entries are ignored here and deleted by the C# collector.
 */
#ifndef MEMBRANE_LIB_CONNTRACK_H
#define MEMBRANE_LIB_CONNTRACK_H

#include "maps.h"
#include "parse.h"

/* Writes a conntrack key with two stores (see store_u64). */
static __always_inline void ct_key_set(struct ct_key *key, __be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
				       __u8 protocol, __u8 direction)
{
	store_u64(key, (__u64)saddr | (__u64)daddr << 32);
	store_u64((__u8 *)key + 8, (__u64)sport | (__u64)dport << 16 | (__u64)protocol << 32 | (__u64)direction << 40);
}

_Static_assert(__builtin_offsetof(struct ct_key, sport) == 8 && __builtin_offsetof(struct ct_key, direction) == 13 &&
	       sizeof(struct ct_key) == 16, "ct_key_set's word layout");

/* Key of the packet's own tuple, for the entry of the hook in direction. */
static __always_inline void ct_key_forward(struct ct_key *key, const struct packet *p, __u8 direction)
{
	ct_key_set(key, p->saddr, p->daddr, p->sport, p->dport, p->protocol, direction);
}

/* Key of the connection the packet replies to, created by the hook in direction. */
static __always_inline void ct_key_reverse(struct ct_key *key, const struct packet *p, __u8 direction)
{
	ct_key_set(key, p->daddr, p->saddr, p->dport, p->sport, p->protocol, direction);
}

/* Key of the connection an ICMP error is about (the quoted packet went the opposite way). */
static __always_inline void ct_key_related(struct ct_key *key, const struct packet *p, __u8 direction)
{
	ct_key_set(key, p->inner_saddr, p->inner_daddr, p->inner_sport, p->inner_dport, p->inner_protocol, direction);
}

static __always_inline bool ct_flags_closing(__u16 flags)
{
	return (flags & CT_F_RESET) || (flags & (CT_F_FORWARD_FIN | CT_F_REPLY_FIN)) == (CT_F_FORWARD_FIN | CT_F_REPLY_FIN);
}

/* The entry for key, live or expired (the new-flow path reopens either), or NULL. */
static __always_inline struct ct_entry *ct_find(const struct ct_key *key)
{
	return bpf_map_lookup_elem(&conntrack, key);
}

static __always_inline bool ct_alive(const struct ct_entry *entry, __u32 now)
{
	return entry->expires > now;
}

/* The live entry for key, or NULL when there is none or it has expired. */
static __always_inline struct ct_entry *ct_lookup(const struct ct_key *key, __u32 now)
{
	struct ct_entry *entry = ct_find(key);

	if (!entry || !ct_alive(entry, now))
		return NULL;
	return entry;
}

/* Lifetime of an entry in the state its flags describe. */
static __always_inline __u32 ct_lifetime(__u16 flags, __u8 protocol, const struct datapath_config *cfg)
{
	if (!cfg)
		return 0;
	if (protocol != IPPROTO_TCP)
		return cfg->ct_lifetime_other;
	if (ct_flags_closing(flags))
		return cfg->ct_lifetime_tcp_close;
	if (flags & CT_F_SEEN_REPLY)
		return cfg->ct_lifetime_tcp;
	return cfg->ct_lifetime_tcp_syn;
}

/*
 * Accounts a packet to its entry and advances the TCP state. Returns true when the TCP state changed (for trace
 * aggregation). Fields are written only when they change: the established path stays read-mostly.
 */
static __always_inline bool ct_update(struct ct_entry *entry, const struct packet *p, bool reply,
				      const struct datapath_config *cfg, __u32 now)
{
	__u16 flags = entry->flags;
	__u32 expires;
	bool changed = false;

	if (reply) {
		__sync_fetch_and_add(&entry->reply_packets, 1);
		__sync_fetch_and_add(&entry->reply_bytes, p->length);
		flags |= CT_F_SEEN_REPLY;
		if ((entry->reply_tcp_flags | p->tcp_flags) != entry->reply_tcp_flags) {
			entry->reply_tcp_flags |= p->tcp_flags;
			changed = true;
		}
	} else {
		__sync_fetch_and_add(&entry->forward_packets, 1);
		__sync_fetch_and_add(&entry->forward_bytes, p->length);
		if ((entry->forward_tcp_flags | p->tcp_flags) != entry->forward_tcp_flags) {
			entry->forward_tcp_flags |= p->tcp_flags;
			changed = true;
		}
	}
	if (p->protocol == IPPROTO_TCP) {
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= CT_F_RESET;
		if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= reply ? CT_F_REPLY_FIN : CT_F_FORWARD_FIN;
	}
	if (flags != entry->flags)
		entry->flags = flags;
	expires = now + ct_lifetime(flags, p->protocol, cfg);
	if (expires != entry->expires)
		entry->expires = expires;
	return changed;
}

/* What a new entry records besides the first packet: the verdict and who it was taken for. */
struct ct_verdict {
	__u32 policy_generation;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 cookie;
	__u16 endpoint_id;
	__u16 proxy_port;
	__u16 flags;		/* CT_F_PROXY_* */
};

_Static_assert(__builtin_offsetof(struct ct_entry, expires) == 32 && __builtin_offsetof(struct ct_entry, created) == 36 &&
	       __builtin_offsetof(struct ct_entry, policy_generation) == 40 &&
	       __builtin_offsetof(struct ct_entry, src_identity) == 44 &&
	       __builtin_offsetof(struct ct_entry, dst_identity) == 48 && __builtin_offsetof(struct ct_entry, cookie) == 52 &&
	       __builtin_offsetof(struct ct_entry, endpoint_id) == 56 && __builtin_offsetof(struct ct_entry, proxy_port) == 58 &&
	       __builtin_offsetof(struct ct_entry, flags) == 60 &&
	       __builtin_offsetof(struct ct_entry, forward_tcp_flags) == 62 &&
	       __builtin_offsetof(struct ct_entry, reply_tcp_flags) == 63 && sizeof(struct ct_entry) == 64,
	       "ct_create's word layout");

/*
 * Records a new connection for key: the first packet counted forward, its TCP flags, the verdict. When the tuple
 * is already tracked (tracked: the entry ct_find returned, live or expired: a retransmitted SYN, or the tuple reused
 * by a new connection) that entry is overwritten in place, as Cilium reopens an entry; otherwise a new one is
 * inserted. Either way the entry ends up with exactly the same contents. Returns 0 or DROP_CT_CREATE_FAILED.
 */
static __always_inline int ct_create(const struct ct_key *key, struct ct_entry *tracked, const struct ct_verdict *v,
				     const struct packet *p, const struct datapath_config *cfg, __u32 now)
{
	__u16 flags = v->flags;
	struct ct_entry created;
	struct ct_entry *entry = tracked ? tracked : &created;
	__u64 *words = (__u64 *)entry;
	__u32 expires;

	if (p->protocol == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST))
		flags |= CT_F_RESET;
	expires = now + ct_lifetime(flags, p->protocol, cfg);
	/* Whole words (see store_u64); the layout is asserted above. */
	store_u64(&words[0], 1);
	store_u64(&words[1], p->length);
	store_u64(&words[2], 0);
	store_u64(&words[3], 0);
	store_u64(&words[4], expires | (__u64)now << 32);
	store_u64(&words[5], v->policy_generation | (__u64)v->src_identity << 32);
	store_u64(&words[6], v->dst_identity | (__u64)v->cookie << 32);
	store_u64(&words[7], v->endpoint_id | (__u64)v->proxy_port << 16 | (__u64)flags << 32 |
				     (__u64)p->tcp_flags << 48);
	if (tracked)
		return 0;
	if (bpf_map_update_elem(&conntrack, key, &created, BPF_ANY) < 0)
		return DROP_CT_CREATE_FAILED;
	return 0;
}

/* Connections are tracked for TCP, UDP, SCTP and ICMP echo; other ICMP is checked per packet. */
static __always_inline bool ct_trackable(const struct packet *p)
{
	return p->protocol != IPPROTO_ICMP || (p->flags & PACKET_F_ICMP_ECHO);
}

/*
 * An ICMP error is RELATED when the packet it quotes belongs to a tracked connection: either the quoted tuple is
 * the connection's own (created in direction own), or its reverse (the quoted packet was a reply; created in
 * direction peer).
 */
static __always_inline struct ct_entry *ct_lookup_related(const struct packet *p, __u8 own, __u8 peer, __u32 now)
{
	struct ct_entry *entry;
	struct ct_key key;

	ct_key_related(&key, p, own);
	entry = ct_lookup(&key, now);
	if (entry)
		return entry;
	ct_key_set(&key, p->inner_daddr, p->inner_saddr, p->inner_dport, p->inner_sport, p->inner_protocol, peer);
	return ct_lookup(&key, now);
}

#endif
