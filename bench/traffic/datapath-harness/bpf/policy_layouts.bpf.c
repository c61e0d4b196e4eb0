// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only programs comparing map layouts for the two lookups on the new-flow path (compiled by the harness's
 * "layouts" command at run time). skb->mark carries the identity or address to look up.
 *   policy_hash   the production lookup (lib/policy.h): meta entry + probes of a per-endpoint hash map (an endpoint's
 *                 own decisions read the meta from its record instead: one lookup less)
 *   policy_lpm    the same decision from an LPM trie keyed {identity, direction, protocol, port}: two trie lookups
 *   ipcache_hash  the production ipcache (lib/ipcache.h): /32 hash, LPM trie only on a miss
 *   ipcache_lpm   one LPM trie for everything (Cilium's ipcache layout)
 * Both variants hold the same entries.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/ipcache.h"
#include "lib/policy.h"

struct bench_policy_lpm_key {
	__u32 prefixlen;	/* 40 fixed bits (identity, direction) + 8 protocol + port prefix */
	__u32 identity;
	__u8 direction;
	__u8 protocol;
	__be16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_policy_lpm_key);
	__type(value, struct policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_policy_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_prefix_key);
	__type(value, struct ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_ipcache_lpm SEC(".maps");

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int policy_hash(struct __sk_buff *skb)
{
	struct policy_decision d;

	policy_evaluate_packed((1 << 1) | DIR_INGRESS, skb->mark, (IPPROTO_TCP << 16) | 8080, 0, &d);
	return d.drop_reason ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int policy_lpm(struct __sk_buff *skb)
{
	struct bench_policy_lpm_key key = {
		.prefixlen = 64, .identity = skb->mark, .direction = DIR_INGRESS, .protocol = IPPROTO_TCP,
		.dport = bpf_htons(8080),
	};
	const struct policy_value *a, *b;

	a = bpf_map_lookup_elem(&bench_policy_lpm, &key);
	key.identity = 0;
	b = bpf_map_lookup_elem(&bench_policy_lpm, &key);
	if ((a && a->verdict == VERDICT_DENY) || (b && b->verdict == VERDICT_DENY) || (!a && !b))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int ipcache_hash(struct __sk_buff *skb)
{
	return ipcache_lookup(skb->mark) ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int ipcache_lpm(struct __sk_buff *skb)
{
	struct ipcache_prefix_key key = { .prefixlen = 32, .addr = skb->mark };

	return bpf_map_lookup_elem(&bench_ipcache_lpm, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "Dual BSD/GPL";
