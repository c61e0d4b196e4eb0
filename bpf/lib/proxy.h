/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Redirect to the L7 proxy with bpf_sk_assign (valid at tc ingress only), as the kernel selftest test_sk_assign
 * does: first the proxy's socket for this very connection, else its transparent listener on 0.0.0.0:proxy_port in
 * this network namespace. The packet is then marked MARK_MAGIC_TO_PROXY, which the node's
 * "ip rule fwmark 0x200/0xf00 lookup 2004" + "local 0.0.0.0/0 dev lo table 2004" routes to local delivery.
 * No listener means the packet is dropped (fail closed).
 */
#ifndef MEMBRANE_LIB_PROXY_H
#define MEMBRANE_LIB_PROXY_H

#include "common.h"
#include "parse.h"

/* Returns 0 after a successful assignment, else a drop reason. */
static __always_inline int proxy_assign(struct __sk_buff *skb, const struct packet *p, __u16 proxy_port)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	long ret;

	if (p->protocol != IPPROTO_TCP)
		return DROP_PROXY_UNKNOWN_PROTOCOL;
	tuple.ipv4.saddr = p->saddr;
	tuple.ipv4.daddr = p->daddr;
	tuple.ipv4.sport = p->sport;
	tuple.ipv4.dport = p->dport;
	sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		if (sk->state != BPF_TCP_LISTEN)
			goto assign;
		bpf_sk_release(sk);
	}
	tuple.ipv4.dport = bpf_htons(proxy_port);
	sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return DROP_PROXY_LOOKUP_FAILED;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return DROP_PROXY_LOOKUP_FAILED;
	}
assign:
	ret = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (ret)
		return DROP_PROXY_SET_FAILED;
	skb->mark = MARK_MAGIC_TO_PROXY;
	return 0;
}

#endif
