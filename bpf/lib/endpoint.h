/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint a program instance runs for, found by the host-side interface index. */
#ifndef MEMBRANE_LIB_ENDPOINT_H
#define MEMBRANE_LIB_ENDPOINT_H

#include "maps.h"

static __always_inline const struct endpoint_info *endpoint_lookup(__u32 ifindex)
{
	const struct endpoint_info *info;

	if (ifindex >= ENDPOINT_IFINDEX_MAX)
		return NULL;
	info = bpf_map_lookup_elem(&endpoints, &ifindex);
	if (!info || !(info->flags & ENDPOINT_F_ACTIVE))
		return NULL;
	return info;
}

#endif
