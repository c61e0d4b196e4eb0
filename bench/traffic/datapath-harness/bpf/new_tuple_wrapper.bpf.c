// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only: the production programs on a new connection tuple per run, with warm caches. `fresh` rewrites the
 * TCP source port of the test packet from a per-CPU counter (BPF_PROG_TEST_RUN repeats the program on the same skb,
 * so every run sees the next port) and tail-calls bench_targets[skb->mark]: the production from_container (0) or
 * to_container (1), or the empty program (2), which behind the same wrapper is their baseline. It defines no
 * production map, so it loads next to the objects of any build (the harness's --baseline-commit).
 */
#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_port_counter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 3);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bench_targets SEC(".maps");

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int fresh(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__be16 *sport = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
	__u32 zero = 0, *n = bpf_map_lookup_elem(&bench_port_counter, &zero);

	if ((void *)(sport + 1) > data_end || !n)
		return TC_ACT_SHOT;
	*sport = (__be16)(*n)++;
	bpf_tail_call(skb, &bench_targets, skb->mark);
	return TC_ACT_SHOT;
}

char _license[] SEC("license") = "Dual BSD/GPL";
