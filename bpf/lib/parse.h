/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet, IPv4, the L4 ports, TCP flags, ICMP type/code and ICMP error payloads. */
#ifndef MEMBRANE_LIB_PARSE_H
#define MEMBRANE_LIB_PARSE_H

#include "common.h"

#define PARSE_IPV4	0
#define PARSE_ARP	1	/* any other result is a drop reason */

#define ICMP_ECHOREPLY_TYPE	0
#define ICMP_DEST_UNREACH_TYPE	3
#define ICMP_ECHO_TYPE		8
#define ICMP_TIME_EXCEEDED_TYPE	11
#define ICMP_PARAMETERPROB_TYPE	12

#define PACKET_F_ICMP_ERROR	0x01	/* ICMP error carrying the header of a packet of another flow */
#define PACKET_F_ICMP_ECHO	0x02	/* echo request or reply: tracked with the identifier as port */
#define PACKET_F_TCP_SYN_ONLY	0x04	/* SYN without ACK: opens a connection, never a reply */

struct packet {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;		/* TCP/UDP/SCTP ports; ICMP echo: identifier (request) or 0 */
	__be16 dport;		/* ICMP echo reply: identifier */
	__u16 policy_port;	/* host order: destination port, or ICMP type */
	__u8 protocol;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 flags;		/* PACKET_F_* */
	__u8 pad;
	__u32 length;
	/* PACKET_F_ICMP_ERROR: the tuple of the packet the error is about */
	__be32 inner_saddr;
	__be32 inner_daddr;
	__be16 inner_sport;
	__be16 inner_dport;
	__u8 inner_protocol;
	__u8 pad2[3];
};

/* Makes [0, len) of the packet directly readable; returns false if the packet is shorter. */
static __always_inline bool packet_pull(struct __sk_buff *skb, __u32 len)
{
	if ((void *)(long)skb->data + len <= (void *)(long)skb->data_end)
		return true;
	if (len > skb->len)
		return false;
	return bpf_skb_pull_data(skb, len) == 0 && (void *)(long)skb->data + len <= (void *)(long)skb->data_end;
}

/* Tuple of the inner IPv4 header + 8 bytes that an ICMP error quotes (RFC 792). */
static __always_inline int parse_icmp_error(struct __sk_buff *skb, __u32 inner_offset, struct packet *p)
{
	struct iphdr inner;
	__u8 l4[4];

	if (bpf_skb_load_bytes(skb, inner_offset, &inner, sizeof(inner)) < 0)
		return DROP_CT_INVALID_HEADER;
	if (inner.version != 4 || inner.ihl < 5)
		return DROP_INVALID_PACKET;
	if (bpf_skb_load_bytes(skb, inner_offset + inner.ihl * 4, l4, sizeof(l4)) < 0)
		return DROP_CT_INVALID_HEADER;
	p->inner_saddr = inner.saddr;
	p->inner_daddr = inner.daddr;
	p->inner_protocol = inner.protocol;
	if (inner.protocol == IPPROTO_ICMP) {
		/* Quoted ICMP echo: type, code, checksum; the identifier is not in the first 4 bytes. */
		__be16 id;

		if (bpf_skb_load_bytes(skb, inner_offset + inner.ihl * 4 + 4, &id, sizeof(id)) < 0)
			return DROP_CT_INVALID_HEADER;
		p->inner_sport = l4[0] == ICMP_ECHO_TYPE ? id : 0;
		p->inner_dport = l4[0] == ICMP_ECHOREPLY_TYPE ? id : 0;
	} else {
		__builtin_memcpy(&p->inner_sport, &l4[0], 2);
		__builtin_memcpy(&p->inner_dport, &l4[2], 2);
	}
	p->flags |= PACKET_F_ICMP_ERROR;
	return 0;
}

/* Fills p from the packet. Returns PARSE_IPV4, PARSE_ARP or a drop reason. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct packet *p)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ihl, l4;
	void *data, *data_end;

	if (!packet_pull(skb, sizeof(struct ethhdr) + sizeof(struct iphdr))) {
		if (skb->protocol == bpf_htons(ETH_P_ARP))
			return PARSE_ARP;
		return DROP_INVALID_PACKET;
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return DROP_INVALID_PACKET;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return PARSE_ARP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return DROP_UNSUPPORTED_L3_PROTOCOL;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return DROP_INVALID_PACKET;
	if (ip->version != 4 || ip->ihl < 5)
		return DROP_INVALID_PACKET;
	ihl = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < ihl)
		return DROP_INVALID_PACKET;
	/* Non-first fragments carry no L4 header; without fragment tracking they cannot be matched (Cilium drops
	 * them the same way unless its fragment map is enabled). */
	if (ip->frag_off & bpf_htons(0x3FFF))
		return DROP_FRAGMENTS_NOT_SUPPORTED;

	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->protocol = ip->protocol;
	p->length = skb->len;
	l4 = sizeof(struct ethhdr) + ihl;

	switch (p->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp;

		if (!packet_pull(skb, l4 + sizeof(struct tcphdr)))
			return DROP_CT_INVALID_HEADER;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		tcp = data + l4;
		if ((void *)(tcp + 1) > data_end)
			return DROP_CT_INVALID_HEADER;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		p->policy_port = bpf_ntohs(tcp->dest);
		p->tcp_flags = ((__u8 *)tcp)[13];
		if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
			p->flags |= PACKET_F_TCP_SYN_ONLY;
		return PARSE_IPV4;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both start with source and destination port. */
		struct udphdr *udp;

		if (!packet_pull(skb, l4 + 4))
			return DROP_CT_INVALID_HEADER;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		udp = data + l4;
		if ((void *)udp + 4 > data_end)
			return DROP_CT_INVALID_HEADER;
		p->sport = udp->source;
		p->dport = udp->dest;
		p->policy_port = bpf_ntohs(udp->dest);
		return PARSE_IPV4;
	}
	case IPPROTO_ICMP: {
		struct icmp_header *icmp;

		if (!packet_pull(skb, l4 + sizeof(struct icmp_header)))
			return DROP_CT_INVALID_HEADER;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		icmp = data + l4;
		if ((void *)(icmp + 1) > data_end)
			return DROP_CT_INVALID_HEADER;
		p->icmp_type = icmp->type;
		p->icmp_code = icmp->code;
		p->policy_port = icmp->type;	/* contracts.md: for ICMP the key's port is the type */
		switch (icmp->type) {
		case ICMP_ECHO_TYPE:
			p->sport = icmp->id;
			p->flags |= PACKET_F_ICMP_ECHO;
			break;
		case ICMP_ECHOREPLY_TYPE:
			p->dport = icmp->id;
			p->flags |= PACKET_F_ICMP_ECHO;
			break;
		case ICMP_DEST_UNREACH_TYPE:
		case ICMP_TIME_EXCEEDED_TYPE:
		case ICMP_PARAMETERPROB_TYPE:
			return parse_icmp_error(skb, l4 + sizeof(struct icmp_header), p);
		}
		return PARSE_IPV4;
	}
	default:
		/* Cilium's conntrack knows TCP, UDP, SCTP and ICMP only and drops the rest the same way. */
		return DROP_CT_UNKNOWN_PROTOCOL;
	}
}

#endif
