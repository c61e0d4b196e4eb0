/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Includes and small helpers every program uses. */
#ifndef MEMBRANE_LIB_COMMON_H
#define MEMBRANE_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "membrane/shared.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* The ICMP header (RFC 792); linux/icmp.h drags in libc headers that do not build for the BPF target. */
struct icmp_header {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;		/* echo request/reply */
	__be16 sequence;
};

#define NSEC_PER_SEC 1000000000ULL

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word layouts below (store_u64 callers) assume a little-endian target"
#endif

/*
 * Writes 8 bytes with one store. Map keys and values are built in a register and stored whole: the kernel's hash
 * (jhash2) and compare read them in 32/64-bit words, and a load spanning several narrower stores cannot be
 * forwarded from the store buffer. Field-by-field keys cost ~10 ns more per lookup here (docs/performance.md,
 * "Where a new flow's time goes"). dst must be 8-byte aligned (the key structs are) for this to be one store.
 */
static __always_inline void store_u64(void *dst, __u64 value)
{
	__builtin_memcpy(dst, &value, sizeof(value));
}

/*
 * Monotonic seconds, the clock of ct_entry.expires (C# reads CLOCK_MONOTONIC). The coarse clock (kernel 5.11+) is
 * the monotonic clock at tick resolution and costs ~1 ns here, against ~27 ns for bpf_ktime_get_ns() on this VM
 * (docs/performance.md); seconds need no better.
 */
static __always_inline __u32 monotonic_seconds(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() / NSEC_PER_SEC);
}

#endif
