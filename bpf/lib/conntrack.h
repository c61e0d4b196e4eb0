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

/* Key of the packet's own tuple, for the entry of the hook in direction. */
static __always_inline void ct_key_forward(struct ct_key *key, const struct packet *p, __u8 direction)
{
	key->saddr = p->saddr;
	key->daddr = p->daddr;
	key->sport = p->sport;
	key->dport = p->dport;
	key->protocol = p->protocol;
	key->direction = direction;
	key->pad = 0;
}

/* Key of the connection the packet replies to, created by the hook in direction. */
static __always_inline void ct_key_reverse(struct ct_key *key, const struct packet *p, __u8 direction)
{
	key->saddr = p->daddr;
	key->daddr = p->saddr;
	key->sport = p->dport;
	key->dport = p->sport;
	key->protocol = p->protocol;
	key->direction = direction;
	key->pad = 0;
}

/* Key of the connection an ICMP error is about (the quoted packet went the opposite way). */
static __always_inline void ct_key_related(struct ct_key *key, const struct packet *p, __u8 direction)
{
	key->saddr = p->inner_saddr;
	key->daddr = p->inner_daddr;
	key->sport = p->inner_sport;
	key->dport = p->inner_dport;
	key->protocol = p->inner_protocol;
	key->direction = direction;
	key->pad = 0;
}

static __always_inline bool ct_closing(const struct ct_entry *entry)
{
	return (entry->flags & CT_F_RESET) ||
	       (entry->flags & (CT_F_FORWARD_FIN | CT_F_REPLY_FIN)) == (CT_F_FORWARD_FIN | CT_F_REPLY_FIN);
}

/* The live entry for key, or NULL when there is none or it has expired. */
static __always_inline struct ct_entry *ct_lookup(const struct ct_key *key, __u32 now)
{
	struct ct_entry *entry = bpf_map_lookup_elem(&conntrack, key);

	if (!entry || entry->expires <= now)
		return NULL;
	return entry;
}

static __always_inline __u32 ct_lifetime(const struct ct_entry *entry, __u8 protocol, const struct datapath_config *cfg)
{
	if (!cfg)
		return 0;
	if (protocol != IPPROTO_TCP)
		return cfg->ct_lifetime_other;
	if (ct_closing(entry))
		return cfg->ct_lifetime_tcp_close;
	if (entry->flags & CT_F_SEEN_REPLY)
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
	expires = now + ct_lifetime(entry, p->protocol, cfg);
	if (expires != entry->expires)
		entry->expires = expires;
	return changed;
}

/* Creates (or replaces) the entry for key. Returns 0 or DROP_CT_CREATE_FAILED. */
static __always_inline int ct_create(const struct ct_key *key, struct ct_entry *entry, const struct packet *p,
				     const struct datapath_config *cfg, __u32 now)
{
	entry->forward_packets = 1;
	entry->forward_bytes = p->length;
	entry->forward_tcp_flags = p->tcp_flags;
	entry->created = now;
	if (p->protocol == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST))
		entry->flags |= CT_F_RESET;
	entry->expires = now + ct_lifetime(entry, p->protocol, cfg);
	if (bpf_map_update_elem(&conntrack, key, entry, BPF_ANY) < 0)
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
	struct ct_key key;
	struct ct_entry *entry;

	ct_key_related(&key, p, own);
	entry = ct_lookup(&key, now);
	if (entry)
		return entry;
	key.saddr = p->inner_daddr;
	key.daddr = p->inner_saddr;
	key.sport = p->inner_dport;
	key.dport = p->inner_sport;
	key.direction = peer;
	return ct_lookup(&key, now);
}

#endif
