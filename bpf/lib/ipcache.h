/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP -> identity. Host addresses (/32) live in a hash, shorter prefixes in an LPM trie that is consulted only on a
 * hash miss: the result equals one longest-prefix match over both, since a /32 is always the longest prefix. The
 * split exists for speed: at 10,000 entries an LPM lookup costs ~90 ns here, a hash lookup ~15-20 ns
 * (docs/performance.md, "Datapath").
 */
#ifndef MEMBRANE_LIB_IPCACHE_H
#define MEMBRANE_LIB_IPCACHE_H

#include "maps.h"

static __always_inline const struct ipcache_value *ipcache_lookup(__be32 addr)
{
	const struct ipcache_value *value = bpf_map_lookup_elem(&ipcache_hosts, &addr);
	struct ipcache_prefix_key key;

	if (value)
		return value;
	store_u64(&key, 32 | (__u64)addr << 32);
	return bpf_map_lookup_elem(&ipcache_cidrs, &key);
}

/* Identity of an address; reserved:world when the ipcache does not know it. */
static __always_inline __u32 ipcache_identity(const struct ipcache_value *value)
{
	return value ? value->identity : IDENTITY_WORLD;
}

#endif
