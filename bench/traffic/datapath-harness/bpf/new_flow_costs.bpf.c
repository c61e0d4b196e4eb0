// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only programs that take the new-flow path of the production programs apart (compiled by the harness's
 * "new-flow-costs" command at run time, loaded on an instance's pinned maps). Every program is built from the same
 * lib/ code as bpf/from_container.bpf.c and bpf/to_container.bpf.c, in the same order:
 *
 *   from_stage_N   the from-container new-flow path up to and including step N (cumulative):
 *                  1 flow context + parse + config + endpoint + source check, 2 + clock + conntrack lookup,
 *                  3 + ipcache, 4 + egress policy, 5 + destination's redirect check (ipcache flag),
 *                  6 + conntrack create (reopen in place or insert), 7 + forward accounting
 *   to_stage_N     the same for to-container: 1 flow context + parse + config + endpoint, 2 + clock + mark +
 *                  conntrack lookup, 3 + ipcache, 4 + ingress policy, 5 + conntrack create, 6 + forward accounting
 *   op_*           one operation alone (see each)
 *
 * The production programs on a new tuple per run are measured through new_tuple_wrapper.bpf.c.
 *
 * The difference between consecutive stages, each against the empty program of the same round, is what a step costs.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/endpoint.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/events.h"

#define BENCH_CLIENT_ENDPOINT	1
#define BENCH_SERVER_ENDPOINT	2

/* Per-CPU run counter: fresh keys. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_counter SEC(".maps");

/* Conntrack-shaped maps with other flags, same key and value as the production conntrack map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_lru_common SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_hash SEC(".maps");

static __always_inline __u32 bench_next(void)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&bench_counter, &zero);

	if (!n)
		return 0;
	return (*n)++;
}

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/*
 * The from-container new-flow path, cut after step `stage`. Mirrors from_container() for a TCP SYN to a local
 * destination without ingress redirects; returns TC_ACT_SHOT if anything takes another path.
 */
static __always_inline int from_stages(struct __sk_buff *skb, int stage)
{
	const struct datapath_config *cfg = config_get();
	const struct endpoint_info *ep;
	const struct ipcache_value *dst;
	struct policy_decision d;
	struct flow_context c;
	struct ct_entry *tracked;
	struct ct_key key;
	__u32 now;
	int ret;

	__builtin_memset(&c, 0, sizeof(c));
	ret = parse_packet(skb, &c.pkt);
	ep = endpoint_lookup(skb->ifindex);
	if (ret != PARSE_IPV4 || !ep || c.pkt.saddr != ep->ipv4 || !(c.pkt.flags & PACKET_F_TCP_SYN_ONLY))
		return TC_ACT_SHOT;
	if (stage == 1)
		return TC_ACT_OK;
	c.direction = DIR_EGRESS;
	c.endpoint_id = ep->endpoint_id;
	c.src_identity = ep->identity;
	now = monotonic_seconds();
	ct_key_forward(&key, &c.pkt, DIR_EGRESS);
	tracked = ct_find(&key);
	if (stage == 2)
		return now ? TC_ACT_OK : TC_ACT_SHOT;
	dst = ipcache_lookup(c.pkt.daddr);
	c.dst_identity = ipcache_identity(dst);
	if (stage == 3)
		return c.dst_identity ? TC_ACT_OK : TC_ACT_SHOT;
	policy_evaluate_own(ep, DIR_EGRESS, c.dst_identity, &c.pkt, &d);
	c.cookie = d.cookie;
	c.match_type = d.match_type;
	c.proxy_port = d.proxy_port;
	policy_verdict_notify(skb, &c, cfg, d.verdict, d.drop_reason);
	if (d.drop_reason)
		return TC_ACT_SHOT;
	if (stage == 4)
		return TC_ACT_OK;
	if (!dst || (dst->flags & (IPCACHE_F_LOCAL_ENDPOINT | IPCACHE_F_INGRESS_REDIRECT)) != IPCACHE_F_LOCAL_ENDPOINT)
		return TC_ACT_SHOT;
	if (stage == 5)
		return TC_ACT_OK;
	{
		struct ct_verdict verdict = {
			.policy_generation = ep->policy_generation,
			.src_identity = ep->identity,
			.dst_identity = c.dst_identity,
			.cookie = d.cookie,
			.endpoint_id = ep->endpoint_id,
		};

		if (ct_create(&key, tracked, &verdict, &c.pkt, cfg, now))
			return TC_ACT_SHOT;
	}
	if (stage == 6)
		return TC_ACT_OK;
	return forward_packet(skb, &c, cfg, TRACE_FROM_ENDPOINT, TRACE_REASON_NEW, true);
}

SEC("tc") int from_stage_1(struct __sk_buff *skb) { return from_stages(skb, 1); }
SEC("tc") int from_stage_2(struct __sk_buff *skb) { return from_stages(skb, 2); }
SEC("tc") int from_stage_3(struct __sk_buff *skb) { return from_stages(skb, 3); }
SEC("tc") int from_stage_4(struct __sk_buff *skb) { return from_stages(skb, 4); }
SEC("tc") int from_stage_5(struct __sk_buff *skb) { return from_stages(skb, 5); }
SEC("tc") int from_stage_6(struct __sk_buff *skb) { return from_stages(skb, 6); }
SEC("tc") int from_stage_7(struct __sk_buff *skb) { return from_stages(skb, 7); }

/* The to-container new-flow path (a SYN without the proxy's mark), cut after step `stage`. */
static __always_inline int to_stages(struct __sk_buff *skb, int stage)
{
	const struct datapath_config *cfg = config_get();
	const struct endpoint_info *ep;
	struct policy_decision d;
	struct flow_context c;
	struct ct_entry *tracked;
	struct ct_key key;
	bool from_proxy;
	__u32 now;
	int ret;

	__builtin_memset(&c, 0, sizeof(c));
	ret = parse_packet(skb, &c.pkt);
	ep = endpoint_lookup(skb->ifindex);
	if (ret != PARSE_IPV4 || !ep || !(c.pkt.flags & PACKET_F_TCP_SYN_ONLY))
		return TC_ACT_SHOT;
	if (stage == 1)
		return TC_ACT_OK;
	c.direction = DIR_INGRESS;
	c.endpoint_id = ep->endpoint_id;
	c.dst_identity = ep->identity;
	from_proxy = (skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_FROM_PROXY;
	if (from_proxy)
		return TC_ACT_SHOT;
	now = monotonic_seconds();
	ct_key_forward(&key, &c.pkt, DIR_INGRESS);
	tracked = ct_find(&key);
	if (stage == 2)
		return now ? TC_ACT_OK : TC_ACT_SHOT;
	c.src_identity = ipcache_identity(ipcache_lookup(c.pkt.saddr));
	if (stage == 3)
		return c.src_identity ? TC_ACT_OK : TC_ACT_SHOT;
	policy_evaluate_own(ep, DIR_INGRESS, c.src_identity, &c.pkt, &d);
	c.cookie = d.cookie;
	c.match_type = d.match_type;
	policy_verdict_notify(skb, &c, cfg, d.verdict, d.drop_reason);
	if (d.drop_reason || d.verdict == VERDICT_REDIRECT)
		return TC_ACT_SHOT;
	if (stage == 4)
		return TC_ACT_OK;
	{
		struct ct_verdict verdict = {
			.policy_generation = ep->policy_generation,
			.src_identity = c.src_identity,
			.dst_identity = ep->identity,
			.cookie = d.cookie,
			.endpoint_id = ep->endpoint_id,
		};

		if (ct_create(&key, tracked, &verdict, &c.pkt, cfg, now))
			return TC_ACT_SHOT;
	}
	if (stage == 5)
		return TC_ACT_OK;
	return forward_packet(skb, &c, cfg, TRACE_TO_ENDPOINT, TRACE_REASON_NEW, true);
}

SEC("tc") int to_stage_1(struct __sk_buff *skb) { return to_stages(skb, 1); }
SEC("tc") int to_stage_2(struct __sk_buff *skb) { return to_stages(skb, 2); }
SEC("tc") int to_stage_3(struct __sk_buff *skb) { return to_stages(skb, 3); }
SEC("tc") int to_stage_4(struct __sk_buff *skb) { return to_stages(skb, 4); }
SEC("tc") int to_stage_5(struct __sk_buff *skb) { return to_stages(skb, 5); }
SEC("tc") int to_stage_6(struct __sk_buff *skb) { return to_stages(skb, 6); }

/* ---- single operations ---- */

/* The client's SYN tuple (egress entry); a fresh key per run varies the source port and, beyond 65,536 runs, the
 * source address. */
static __always_inline void bench_key(struct ct_key *key, __u32 n)
{
	ct_key_set(key, bpf_htonl(0x0AF40100 + 11) ^ bpf_htonl(n >> 16), bpf_htonl(0x0AF40100 + 12), (__be16)n,
		   bpf_htons(8080), IPPROTO_TCP, DIR_EGRESS);
}

static __always_inline int bench_update(void *map, bool fresh)
{
	struct ct_entry entry = { .forward_packets = 1, .forward_bytes = 54, .expires = 60, .src_identity = 1001,
				  .dst_identity = 1002, .endpoint_id = BENCH_CLIENT_ENDPOINT, .forward_tcp_flags = 2 };
	struct ct_key key;

	bench_key(&key, fresh ? bench_next() : 0);
	return bpf_map_update_elem(map, &key, &entry, BPF_ANY) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* The production conntrack create (lib/conntrack.h): lookup, then reopen in place or insert. */
static __always_inline int bench_create(bool fresh)
{
	struct ct_verdict verdict = { .policy_generation = 1, .src_identity = 1001, .dst_identity = 1002,
				      .endpoint_id = BENCH_CLIENT_ENDPOINT };
	struct packet p = { .protocol = IPPROTO_TCP, .tcp_flags = TCP_FLAG_SYN, .length = 54 };
	struct ct_key key;

	bench_key(&key, fresh ? bench_next() : 0);
	return ct_create(&key, ct_find(&key), &verdict, &p, config_get(), 1000) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc") int op_ct_reopen(struct __sk_buff *skb) { return bench_create(false); }
SEC("tc") int op_ct_create_fresh(struct __sk_buff *skb) { return bench_create(true); }

/* Conntrack create as the production map does it: the same key every run (replace) or a new key every run. */
SEC("tc") int op_ct_replace(struct __sk_buff *skb) { return bench_update(&conntrack, false); }
SEC("tc") int op_ct_insert(struct __sk_buff *skb) { return bench_update(&conntrack, true); }
SEC("tc") int op_lru_common_replace(struct __sk_buff *skb) { return bench_update(&bench_lru_common, false); }
SEC("tc") int op_lru_common_insert(struct __sk_buff *skb) { return bench_update(&bench_lru_common, true); }
SEC("tc") int op_lru_percpu_replace(struct __sk_buff *skb) { return bench_update(&bench_lru_percpu, false); }
SEC("tc") int op_lru_percpu_insert(struct __sk_buff *skb) { return bench_update(&bench_lru_percpu, true); }
SEC("tc") int op_hash_replace(struct __sk_buff *skb) { return bench_update(&bench_hash, false); }
SEC("tc") int op_hash_insert(struct __sk_buff *skb) { return bench_update(&bench_hash, true); }

/* Conntrack lookup of an existing entry (the key op_ct_replace writes), its key written as two words. */
SEC("tc")
int op_ct_lookup(struct __sk_buff *skb)
{
	struct ct_key key;

	bench_key(&key, 0);
	return bpf_map_lookup_elem(&conntrack, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The same lookup with the key written field by field (what clang emits for the struct's fields). */
SEC("tc")
int op_ct_lookup_fields(struct __sk_buff *skb)
{
	/* Run-time values, as the packet's fields are. */
	volatile __u32 saddr = bpf_htonl(0x0AF40100 + 11), daddr = bpf_htonl(0x0AF40100 + 12);
	volatile __u16 sport = 0, dport = bpf_htons(8080);
	volatile __u8 protocol = IPPROTO_TCP;
	struct ct_key key;

	key.saddr = saddr;
	key.daddr = daddr;
	key.sport = sport;
	key.dport = dport;
	key.protocol = protocol;
	key.direction = DIR_EGRESS;
	key.pad = 0;
	return bpf_map_lookup_elem(&conntrack, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The client's policy map: meta entry + the exact-port probe, keys written as one word each. */
SEC("tc")
int op_policy_keys_word(struct __sk_buff *skb)
{
	volatile __u32 peer = 1002;
	struct policy_key key;
	__u32 index = BENCH_CLIENT_ENDPOINT;
	void *map = bpf_map_lookup_elem(&policy_maps, &index);

	if (!map)
		return TC_ACT_SHOT;
	policy_key_set(&key, 0, 0, 0, POLICY_META_TRAFFIC(DIR_EGRESS));
	if (!bpf_map_lookup_elem(map, &key))
		return TC_ACT_SHOT;
	policy_key_set(&key, peer, bpf_htons(8080), IPPROTO_TCP, DIR_EGRESS | (16 << POLICY_TRAFFIC_PREFIX_SHIFT));
	return bpf_map_lookup_elem(map, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The same two lookups with the keys written field by field, as the fields' run-time values come in (the previous
 * code's pattern). */
SEC("tc")
int op_policy_keys_fields(struct __sk_buff *skb)
{
	volatile __u32 peer = 1002;
	volatile __u16 port = bpf_htons(8080);
	volatile __u8 direction = DIR_EGRESS, protocol = IPPROTO_TCP;
	struct policy_key meta, key;
	__u32 index = BENCH_CLIENT_ENDPOINT;
	void *map = bpf_map_lookup_elem(&policy_maps, &index);

	if (!map)
		return TC_ACT_SHOT;
	meta.identity = 0;
	meta.dport = 0;
	meta.protocol = 0;
	meta.traffic = POLICY_META_TRAFFIC(direction);
	if (!bpf_map_lookup_elem(map, &meta))
		return TC_ACT_SHOT;
	key.identity = peer;
	key.protocol = protocol;
	key.dport = port;
	key.traffic = direction | (16 << POLICY_TRAFFIC_PREFIX_SHIFT);
	return bpf_map_lookup_elem(map, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The ipcache lookup of the server's address (a /32 hash hit). */
SEC("tc")
int op_ipcache(struct __sk_buff *skb)
{
	return ipcache_lookup(bpf_htonl(0x0AF40100 + 12)) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* One policy decision: the client's egress policy for the server on TCP 8080 (global function call included), the
 * prefix masks read from the map's meta entry (how another endpoint's policy is evaluated). */
SEC("tc")
int op_policy(struct __sk_buff *skb)
{
	struct policy_decision d;

	policy_evaluate_packed((BENCH_CLIENT_ENDPOINT << 1) | DIR_EGRESS, 1002, (IPPROTO_TCP << 16) | 8080, 0, &d);
	return d.drop_reason ? TC_ACT_SHOT : TC_ACT_OK;
}

/* The same decision as the endpoint's own: the prefix masks from its record (run on the client's interface). */
SEC("tc")
int op_policy_own(struct __sk_buff *skb)
{
	const struct endpoint_info *ep = endpoint_lookup(skb->ifindex);
	struct policy_decision d;
	struct packet p = { .protocol = IPPROTO_TCP, .policy_port = 8080 };

	if (!ep)
		return TC_ACT_SHOT;
	policy_evaluate_own(ep, DIR_EGRESS, 1002, &p, &d);
	return d.drop_reason ? TC_ACT_SHOT : TC_ACT_OK;
}

/* The destination's redirect check: policy_maps + the meta entry of its ingress direction. */
SEC("tc")
int op_redirect_check(struct __sk_buff *skb)
{
	return policy_has_redirect(BENCH_SERVER_ENDPOINT, DIR_INGRESS) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* Parsing alone (Ethernet, IPv4, TCP). */
SEC("tc")
int op_parse(struct __sk_buff *skb)
{
	struct packet p = {};

	return parse_packet(skb, &p) == PARSE_IPV4 ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "Dual BSD/GPL";
