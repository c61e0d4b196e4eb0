/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map, defined once and included by each program object. All maps are pinned by name under the instance's
 * pin root (/sys/fs/bpf/membrane/v2/<instance>/), so the objects share them, and a reloaded object reuses them:
 * enforcement state survives an agent restart. libbpf refuses to reuse a pinned map whose definition differs,
 * which is why a change here needs a new pin version.
 */
#ifndef MEMBRANE_LIB_MAPS_H
#define MEMBRANE_LIB_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ENDPOINT_IFINDEX_MAX);
	__type(key, __u32);
	__type(value, struct endpoint_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

/* Template of the per-endpoint policy maps that C# creates (two per endpoint, see docs/datapath.md). */
struct policy_inner_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLICY_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* Sizes, not types: clang emits only forward declarations for types this deep in a map definition. */
	__uint(key_size, sizeof(struct policy_key));
	__uint(value_size, sizeof(struct policy_value));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, ENDPOINT_ID_MAX);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct policy_inner_map);
} policy_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPCACHE_HOSTS_MAX);
	__type(key, __be32);
	__type(value, struct ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipcache_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, IPCACHE_CIDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* mandatory for LPM tries */
	__type(key, struct ipcache_prefix_key);
	__type(value, struct ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipcache_cidrs SEC(".maps");

/* max_entries is set by C# before load (DatapathOptions.ConntrackCapacity). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

/* max_entries (bytes) is set by C# before load (DatapathOptions.EventBufferBytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRICS_MAX);
	__type(key, __u32);
	__type(value, struct metrics_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTERS_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datapath_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

/*
 * Never called: its signature puts the full definition of every shared struct into the object's BTF, which the
 * layout test compares with the C# mirrors (some structs are otherwise only reachable as forward declarations).
 */
struct membrane_btf_types {
	struct policy_key policy_key;
	struct policy_value policy_value;
	struct policy_meta policy_meta;
	struct endpoint_info endpoint_info;
	struct ipcache_prefix_key ipcache_prefix_key;
	struct ipcache_value ipcache_value;
	struct ct_key ct_key;
	struct ct_entry ct_entry;
	struct datapath_config datapath_config;
	struct datapath_event datapath_event;
	struct metrics_value metrics_value;
	enum membrane_drop_reason drop_reason;
};

__attribute__((used)) int membrane_btf_anchor(struct membrane_btf_types *types)
{
	return 0;
}

static __always_inline const struct datapath_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline void counter_increment(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);

	if (value)
		*value += 1;	/* per-CPU slot: no atomic needed */
}

#endif
