/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The normative map-state lookup of docs/design/contracts.md, over a per-endpoint hash map:
 *
 *   a = longest-prefix entry for (dir, peer identity, protocol, port)
 *   b = longest-prefix entry for (dir, identity 0,    protocol, port)
 *   a or b Deny -> drop 181; neither -> drop 133; else the longer prefix wins, a on a tie.
 *
 * "Longest prefix" is found by probing the hash from the longest prefix length down and stopping at the first hit.
 * Only lengths the map actually holds are probed: the map's meta entry for the direction has one bit per port prefix
 * length present (and bit 17 for protocol-0 entries), separately for specific and wildcard identities. A typical
 * policy (exact ports) costs one probe per identity class; the meta entry lives in the same map, so it changes
 * atomically with the entries it describes. An endpoint's own decisions read a copy of the masks from its record
 * instead (one hash lookup less; shared.h, endpoint_info, says why the copy is always wide enough).
 */
#ifndef MEMBRANE_LIB_POLICY_H
#define MEMBRANE_LIB_POLICY_H

#include "maps.h"
#include "parse.h"

struct policy_decision {
	__u32 cookie;
	__u16 proxy_port;
	__u16 drop_reason;	/* 0 = allowed (verdict ALLOW or REDIRECT) */
	__u8 verdict;
	__u8 l7_protocol;
	__u8 match_type;
	__u8 pad;
};

/* Writes a policy key with one store (see store_u64). */
static __always_inline void policy_key_set(struct policy_key *key, __u32 identity, __be16 dport, __u8 protocol,
					   __u8 traffic)
{
	store_u64(key, (__u64)identity | (__u64)dport << 32 | (__u64)protocol << 48 | (__u64)traffic << 56);
}

/* Longest-prefix entry for one identity; *prefix gets its contract prefix length (0, or 8 + port prefix). */
static __always_inline const struct policy_value *
policy_longest_match(void *map, __u32 prefixes, __u32 identity, __u8 direction, __u8 protocol, __u16 port,
		     __u8 *prefix)
{
	const struct policy_value *value;
	struct policy_key key;

	/* Exact ports first, then port ranges only if the map holds any: a typical policy names exact ports, and one
	 * test skips the 16 absent lengths (docs/performance.md, "Where a new flow's time goes"). */
	if (prefixes & (1u << 16)) {
		policy_key_set(&key, identity, bpf_htons(port), protocol, direction | (16 << POLICY_TRAFFIC_PREFIX_SHIFT));
		value = bpf_map_lookup_elem(map, &key);
		if (value) {
			*prefix = 8 + 16;
			return value;
		}
	}
	if (prefixes & 0xFFFF) {
#pragma clang loop unroll(full)
		for (int len = 15; len >= 0; len--) {
			if (!(prefixes & (1u << len)))
				continue;
			policy_key_set(&key, identity, bpf_htons(len ? (__u16)(port & (0xFFFF << (16 - len))) : 0),
				       protocol, direction | (len << POLICY_TRAFFIC_PREFIX_SHIFT));
			value = bpf_map_lookup_elem(map, &key);
			if (value) {
				*prefix = 8 + len;
				return value;
			}
		}
	}
	if (prefixes & (1u << POLICY_PREFIX_ANY_PROTOCOL)) {
		policy_key_set(&key, identity, 0, 0, direction);
		value = bpf_map_lookup_elem(map, &key);
		if (value) {
			*prefix = 0;
			return value;
		}
	}
	return NULL;
}

#define POLICY_EVALUATE_META_GIVEN	(1u << 31)	/* in endpoint_direction: meta holds the prefix masks */

/*
 * Evaluates the policy of an endpoint in one direction for a packet exchanged with peer; fills d. A global
 * (non-inlined) function: the verifier checks it once instead of once per call site, which keeps the programs far
 * below the verifier's complexity limit. Arguments are packed because BPF calls take at most five. The prefix masks
 * come from meta (peer_prefixes | any_prefixes << 32) when POLICY_EVALUATE_META_GIVEN is set (the endpoint's own
 * record holds them), else from the map's meta entry.
 */
__attribute__((noinline)) int policy_evaluate_packed(__u32 endpoint_direction, __u32 peer, __u32 protocol_port,
						      __u64 meta, struct policy_decision *d)
{
	__u8 direction = endpoint_direction & 1, protocol = protocol_port >> 16;
	const struct policy_value *a = NULL, *b, *pick, *deny = NULL;
	__u32 index = (endpoint_direction & ~POLICY_EVALUATE_META_GIVEN) >> 1;
	__u32 peer_prefixes, any_prefixes;
	__u16 port = protocol_port & 0xFFFF;
	__u8 a_prefix = 0, b_prefix = 0;
	void *map;

	if (!d)
		return 0;
	__builtin_memset(d, 0, sizeof(*d));
	map = bpf_map_lookup_elem(&policy_maps, &index);
	if (!map) {
		d->drop_reason = DROP_NO_CONFIGURATION;
		return 0;
	}
	if (endpoint_direction & POLICY_EVALUATE_META_GIVEN) {
		peer_prefixes = (__u32)meta;
		any_prefixes = meta >> 32;
	} else {
		const struct policy_meta *entry;
		struct policy_key meta_key;

		policy_key_set(&meta_key, 0, 0, 0, POLICY_META_TRAFFIC(direction));
		entry = bpf_map_lookup_elem(map, &meta_key);
		if (!entry) {
			d->drop_reason = DROP_NO_CONFIGURATION;
			return 0;
		}
		peer_prefixes = entry->peer_prefixes;
		any_prefixes = entry->any_prefixes;
	}
	if (peer != IDENTITY_ANY)
		a = policy_longest_match(map, peer_prefixes, peer, direction, protocol, port, &a_prefix);
	b = policy_longest_match(map, any_prefixes & ~POLICY_META_HAS_REDIRECT, IDENTITY_ANY, direction, protocol, port,
				 &b_prefix);

	if (a && a->verdict == VERDICT_DENY) {
		deny = a;
		d->match_type = a_prefix ? MATCH_L3_L4 : MATCH_L3_ONLY;
	} else if (b && b->verdict == VERDICT_DENY) {
		deny = b;
		d->match_type = b_prefix ? MATCH_L4_ONLY : MATCH_ALL;
	}
	if (deny) {
		d->verdict = VERDICT_DENY;
		d->cookie = deny->cookie;
		d->drop_reason = DROP_POLICY_DENY;
		return 0;
	}
	if (!a && !b) {
		d->verdict = VERDICT_DENY;
		d->drop_reason = DROP_POLICY_DENIED;
		return 0;
	}
	if (a && (!b || a_prefix >= b_prefix)) {
		pick = a;
		d->match_type = a_prefix ? MATCH_L3_L4 : MATCH_L3_ONLY;
	} else if (b) {
		pick = b;
		d->match_type = b_prefix ? MATCH_L4_ONLY : MATCH_ALL;
	} else {
		return 0;
	}
	d->verdict = pick->verdict;
	d->cookie = pick->cookie;
	d->l7_protocol = pick->l7_protocol;
	d->proxy_port = pick->verdict == VERDICT_REDIRECT ? pick->proxy_port : 0;
	if (d->verdict == VERDICT_REDIRECT && !d->proxy_port)
		d->drop_reason = DROP_PROXY_LOOKUP_FAILED;	/* a redirect without a port cannot be honoured */
	return 0;
}

/*
 * True when the endpoint's policy in direction holds redirect entries (read from the meta entry, so it is consistent
 * with the entries a program sees). from-container uses it to decide whether a local destination's ingress policy
 * must be evaluated there: only a redirect needs tc ingress; allow and deny are enforced by to-container anyway.
 */
static __always_inline bool policy_has_redirect(__u16 endpoint_id, __u8 direction)
{
	const struct policy_meta *meta;
	struct policy_key meta_key;
	__u32 index = endpoint_id;
	void *map;

	map = bpf_map_lookup_elem(&policy_maps, &index);
	if (!map)
		return true;	/* let the full evaluation report the missing configuration */
	policy_key_set(&meta_key, 0, 0, 0, POLICY_META_TRAFFIC(direction));
	meta = bpf_map_lookup_elem(map, &meta_key);
	return !meta || (meta->any_prefixes & POLICY_META_HAS_REDIRECT);
}

/* The decision of an endpoint's own policy: the prefix masks come from its record (endpoint_info.policy_meta). */
static __always_inline void policy_evaluate_own(const struct endpoint_info *ep, __u8 direction, __u32 peer,
						const struct packet *p, struct policy_decision *d)
{
	const struct policy_meta *meta = direction == DIR_INGRESS ? &ep->ingress_meta : &ep->egress_meta;

	policy_evaluate_packed(POLICY_EVALUATE_META_GIVEN | ((__u32)ep->endpoint_id << 1) | direction, peer,
			       ((__u32)p->protocol << 16) | p->policy_port,
			       meta->peer_prefixes | (__u64)meta->any_prefixes << 32, d);
}

/* The decision of another endpoint's policy (known by id only): the prefix masks come from its map's meta entry. */
static __always_inline void
policy_evaluate(__u16 endpoint_id, __u8 direction, __u32 peer, const struct packet *p, struct policy_decision *d)
{
	policy_evaluate_packed(((__u32)endpoint_id << 1) | direction, peer, ((__u32)p->protocol << 16) | p->policy_port,
			       0, d);
}

#endif
