/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events to C# through the ring buffer, and per-reason packet counters. A full ring buffer never blocks or drops a
 * packet: the event is counted as lost (COUNTER_EVENTS_LOST) and the packet goes on.
 */
#ifndef MEMBRANE_LIB_EVENTS_H
#define MEMBRANE_LIB_EVENTS_H

#include "maps.h"
#include "parse.h"

/* What a program knows about the packet it is deciding on; the source of every event. */
struct flow_context {
	struct packet pkt;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 cookie;
	__u16 endpoint_id;
	__u16 proxy_port;
	__u8 direction;
	__u8 match_type;
	__u8 event_flags;
	__u8 pad;
};

static __always_inline void metrics_account(__u16 reason, __u8 direction, __u32 length)
{
	__u32 index = ((__u32)(reason & 0xFF) << 1) | (direction & 1);
	struct metrics_value *value = bpf_map_lookup_elem(&metrics, &index);

	if (value) {
		value->packets += 1;	/* per-CPU slot */
		value->bytes += length;
	}
}

/*
 * Writes one event. A global (non-inlined) function: events are the cold path, and keeping one copy of this code
 * keeps the programs small. type_sub_reason packs type << 24 | sub_type << 16 | reason.
 */
__attribute__((noinline)) int event_emit_packed(struct __sk_buff *skb, const struct flow_context *c,
						 __u32 type_sub_reason)
{
	struct datapath_event *e;

	if (!skb || !c)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		counter_increment(COUNTER_EVENTS_LOST);
		return 0;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->type = type_sub_reason >> 24;
	e->sub_type = (type_sub_reason >> 16) & 0xFF;
	e->reason = type_sub_reason & 0xFFFF;
	e->ifindex = skb->ifindex;
	e->src_identity = c->src_identity;
	e->dst_identity = c->dst_identity;
	e->saddr = c->pkt.saddr;
	e->daddr = c->pkt.daddr;
	if (c->pkt.protocol == IPPROTO_ICMP) {
		e->sport = c->pkt.icmp_type;
		e->dport = c->pkt.icmp_code;
	} else {
		e->sport = bpf_ntohs(c->pkt.sport);
		e->dport = bpf_ntohs(c->pkt.dport);
	}
	e->protocol = c->pkt.protocol;
	e->tcp_flags = c->pkt.tcp_flags;
	e->direction = c->direction;
	e->flags = c->event_flags;
	e->endpoint_id = c->endpoint_id;
	e->proxy_port = c->proxy_port;
	e->cookie = c->cookie;
	e->packet_length = c->pkt.length;
	e->match_type = c->match_type;
	e->pad[0] = 0;
	e->pad[1] = 0;
	e->pad[2] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void event_emit(struct __sk_buff *skb, const struct flow_context *c, __u8 type, __u8 sub_type,
				       __u16 reason)
{
	event_emit_packed(skb, c, ((__u32)type << 24) | ((__u32)sub_type << 16) | reason);
}

/* Counts, reports and drops. Every drop goes through here. */
static __always_inline int drop_packet(struct __sk_buff *skb, const struct flow_context *c, __u16 reason)
{
	metrics_account(reason, c->direction, c->pkt.length);
	event_emit(skb, c, EVENT_DROP, 0, reason);
	return TC_ACT_SHOT;
}

static __always_inline void policy_verdict_notify(struct __sk_buff *skb, const struct flow_context *c,
						  const struct datapath_config *cfg, __u8 verdict, __u16 reason)
{
	if (cfg && (cfg->flags & CONFIG_F_POLICY_VERDICT_EVENTS))
		event_emit(skb, c, EVENT_POLICY_VERDICT, verdict, reason);
}

/* Counts a forwarded packet and emits a trace event if the configuration asks for one. */
static __always_inline int forward_packet(struct __sk_buff *skb, const struct flow_context *c,
					  const struct datapath_config *cfg, __u8 point, __u16 trace_reason,
					  bool state_changed)
{
	metrics_account(METRICS_REASON_FORWARDED, c->direction, c->pkt.length);
	if (cfg && ((cfg->flags & CONFIG_F_TRACE_ALL_PACKETS) ||
		    ((cfg->flags & CONFIG_F_TRACE_EVENTS) && state_changed)))
		event_emit(skb, c, EVENT_TRACE, point, trace_reason);
	return TC_ACT_OK;
}

#endif
