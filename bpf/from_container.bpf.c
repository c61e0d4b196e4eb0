// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * from-container: tc ingress (tcx ingress) of an endpoint's host-side veth, i.e. every packet the endpoint sends.
 * Enforces the endpoint's egress policy and, when the destination is a local endpoint, that endpoint's ingress
 * policy too, because only here (tc ingress) can a connection be assigned to the L7 proxy (bpf_sk_assign).
 * The decision order is the table in docs/datapath.md, "from-container".
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/endpoint.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/events.h"
#include "lib/proxy.h"

/*
 * Egress policy of ep and, for a local destination whose ingress policy has redirect entries, that ingress policy
 * too (a redirect can only be carried out here; allow and deny are enforced by the destination's to-container).
 * Fills d with the combined verdict (a redirect on either side redirects) and returns 0, or the drop reason.
 */
static __always_inline int egress_decision(struct __sk_buff *skb, struct flow_context *c,
					   const struct endpoint_info *ep, const struct datapath_config *cfg,
					   struct policy_decision *d)
{
	const struct ipcache_value *dst = ipcache_lookup(c->pkt.daddr);
	struct policy_decision in;

	c->dst_identity = ipcache_identity(dst);
	policy_evaluate_own(ep, DIR_EGRESS, c->dst_identity, &c->pkt, d);
	c->cookie = d->cookie;
	c->match_type = d->match_type;
	c->proxy_port = d->proxy_port;
	policy_verdict_notify(skb, c, cfg, d->verdict, d->drop_reason);
	if (d->drop_reason)
		return d->drop_reason;
	/* The ipcache flag spares the destination's meta lookup for the common destination without L7 ingress rules. */
	if (!dst || (dst->flags & (IPCACHE_F_LOCAL_ENDPOINT | IPCACHE_F_INGRESS_REDIRECT)) !=
			    (IPCACHE_F_LOCAL_ENDPOINT | IPCACHE_F_INGRESS_REDIRECT) ||
	    !policy_has_redirect(dst->endpoint_id, DIR_INGRESS))
		return 0;

	policy_evaluate(dst->endpoint_id, DIR_INGRESS, ep->identity, &c->pkt, &in);
	if (in.drop_reason || in.verdict == VERDICT_REDIRECT) {
		/* Report the destination's decision as its own (ingress of the destination endpoint). */
		c->direction = DIR_INGRESS;
		c->endpoint_id = dst->endpoint_id;
		c->cookie = in.cookie;
		c->match_type = in.match_type;
		c->proxy_port = in.proxy_port;
		policy_verdict_notify(skb, c, cfg, in.verdict, in.drop_reason);
		if (in.drop_reason)
			return in.drop_reason;
		/* One proxy hop serves both sides only when both need the same L7 engine. */
		if (d->verdict == VERDICT_REDIRECT && d->l7_protocol != in.l7_protocol)
			return DROP_PROXY_UNKNOWN_PROTOCOL;
		*d = in;
		c->direction = DIR_EGRESS;
		c->endpoint_id = ep->endpoint_id;
	}
	return 0;
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	const struct datapath_config *cfg = config_get();
	const struct endpoint_info *ep;
	struct policy_decision d;
	struct flow_context c;
	struct ct_entry *entry, *tracked;
	struct ct_key key;
	bool changed;
	__u32 now;
	int ret;

	__builtin_memset(&c, 0, sizeof(c));
	c.direction = DIR_EGRESS;
	ret = parse_packet(skb, &c.pkt);
	if (ret == PARSE_ARP)
		return TC_ACT_OK;
	ep = endpoint_lookup(skb->ifindex);
	if (!ep)
		return drop_packet(skb, &c, DROP_ENDPOINT_NOT_READY);
	c.endpoint_id = ep->endpoint_id;
	c.src_identity = ep->identity;
	if (ret != PARSE_IPV4)
		return drop_packet(skb, &c, ret);
	if (c.pkt.saddr != ep->ipv4)
		return drop_packet(skb, &c, DROP_INVALID_SOURCE_IP);
	now = monotonic_seconds();

	/* 1. A reply on a connection the endpoint accepted (created by its to-container). */
	if (!(c.pkt.flags & PACKET_F_TCP_SYN_ONLY)) {
		ct_key_reverse(&key, &c.pkt, DIR_INGRESS);
		entry = ct_lookup(&key, now);
		if (entry) {
			changed = ct_update(entry, &c.pkt, true, cfg, now);
			c.dst_identity = entry->src_identity;
			c.cookie = entry->cookie;
			c.event_flags = EVENT_F_REPLY;
			if (entry->flags & CT_F_PROXY_UPSTREAM) {
				/* The peer is the proxy's upstream socket, bound to the client's address: route the
				 * reply locally so it reaches that socket (datapath-facts.md §4c). */
				skb->mark = MARK_MAGIC_TO_PROXY;
				return forward_packet(skb, &c, cfg, TRACE_TO_PROXY, TRACE_REASON_REPLY, changed);
			}
			return forward_packet(skb, &c, cfg, TRACE_FROM_ENDPOINT, TRACE_REASON_REPLY, changed);
		}
	}

	/* 2. An ICMP error about one of the endpoint's connections. */
	if ((c.pkt.flags & PACKET_F_ICMP_ERROR) && c.pkt.inner_daddr == ep->ipv4 && c.pkt.daddr == c.pkt.inner_saddr) {
		entry = ct_lookup_related(&c.pkt, DIR_INGRESS, DIR_EGRESS, now);
		if (entry) {
			c.dst_identity = ipcache_identity(ipcache_lookup(c.pkt.daddr));
			c.event_flags = EVENT_F_REPLY;
			return forward_packet(skb, &c, cfg, TRACE_FROM_ENDPOINT, TRACE_REASON_RELATED, true);
		}
	}

	/* 3. A connection the endpoint opened. A SYN opens a connection: it is decided as new even when its tuple is
	 * tracked (a retransmission, or the tuple reused after a close), and then reopens that entry in place. */
	ct_key_forward(&key, &c.pkt, DIR_EGRESS);
	tracked = ct_trackable(&c.pkt) ? ct_find(&key) : NULL;
	entry = tracked && ct_alive(tracked, now) && !(c.pkt.flags & PACKET_F_TCP_SYN_ONLY) ? tracked : NULL;
	if (entry) {
		c.dst_identity = entry->dst_identity;
		c.cookie = entry->cookie;
		c.proxy_port = entry->proxy_port;
		if (entry->policy_generation != ep->policy_generation) {
			/* The endpoint's policy changed since the verdict: decide again. */
			c.event_flags = EVENT_F_REVALIDATED;
			counter_increment(COUNTER_POLICY_REVALIDATIONS);
			ret = egress_decision(skb, &c, ep, cfg, &d);
			if (ret)
				return drop_packet(skb, &c, ret);
			/* An established direct connection cannot be moved into the proxy. */
			if (d.verdict == VERDICT_REDIRECT && !(entry->flags & CT_F_PROXY_REDIRECT))
				return drop_packet(skb, &c, DROP_PROXY_SET_FAILED);
			c.proxy_port = entry->proxy_port;
			entry->policy_generation = ep->policy_generation;
		}
		changed = ct_update(entry, &c.pkt, false, cfg, now);
		if (entry->flags & CT_F_PROXY_REDIRECT) {
			ret = proxy_assign(skb, &c.pkt, entry->proxy_port);
			if (ret)
				return drop_packet(skb, &c, ret);
			counter_increment(COUNTER_PROXY_REDIRECTS);
			return forward_packet(skb, &c, cfg, TRACE_TO_PROXY, TRACE_REASON_ESTABLISHED, changed);
		}
		return forward_packet(skb, &c, cfg, TRACE_FROM_ENDPOINT, TRACE_REASON_ESTABLISHED, changed);
	}

	/* 4. A new flow: decide. */
	ret = egress_decision(skb, &c, ep, cfg, &d);
	if (ret)
		return drop_packet(skb, &c, ret);
	if (d.verdict == VERDICT_REDIRECT) {
		ret = proxy_assign(skb, &c.pkt, d.proxy_port);
		if (ret)
			return drop_packet(skb, &c, ret);
		counter_increment(COUNTER_PROXY_REDIRECTS);
	}
	if (ct_trackable(&c.pkt)) {
		struct ct_verdict verdict = {
			.policy_generation = ep->policy_generation,
			.src_identity = ep->identity,
			.dst_identity = c.dst_identity,
			.cookie = d.cookie,
			.endpoint_id = ep->endpoint_id,
			.proxy_port = d.verdict == VERDICT_REDIRECT ? d.proxy_port : 0,
			.flags = d.verdict == VERDICT_REDIRECT ? CT_F_PROXY_REDIRECT : 0,
		};

		ret = ct_create(&key, tracked, &verdict, &c.pkt, cfg, now);
		if (ret)
			return drop_packet(skb, &c, ret);
	}
	return forward_packet(skb, &c, cfg, d.verdict == VERDICT_REDIRECT ? TRACE_TO_PROXY : TRACE_FROM_ENDPOINT,
			      TRACE_REASON_NEW, true);
}

char _license[] SEC("license") = "Dual BSD/GPL";
