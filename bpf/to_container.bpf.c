// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * to-container: tc egress (tcx egress) of an endpoint's host-side veth, i.e. every packet delivered to the endpoint.
 * Enforces the endpoint's ingress policy. Packets of the L7 proxy's upstream connections carry the source identity
 * in skb->mark (MARK_MAGIC_FROM_PROXY | identity << 16); only processes in the node namespace with CAP_NET_ADMIN
 * can set it: the kernel clears skb->mark when a packet crosses into another network namespace over the veth
 * (skb_scrub_packet), so no pod can forge it. The decision order is the table in docs/datapath.md, "to-container".
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/endpoint.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/events.h"

/* Ingress policy of ep for the flow's source identity (c->src_identity). Returns 0 or the drop reason. */
static __always_inline int ingress_decision(struct __sk_buff *skb, struct flow_context *c,
					    const struct endpoint_info *ep, const struct datapath_config *cfg,
					    bool from_proxy, struct policy_decision *d)
{
	policy_evaluate_own(ep, DIR_INGRESS, c->src_identity, &c->pkt, d);
	c->cookie = d->cookie;
	c->match_type = d->match_type;
	policy_verdict_notify(skb, c, cfg, d->verdict, d->drop_reason);
	if (d->drop_reason)
		return d->drop_reason;
	/* L7 rules apply: the connection must come through the proxy. Only tc ingress (from-container) can assign
	 * a socket, so traffic that reaches here without the proxy's mark (e.g. from the node itself) fails closed. */
	if (d->verdict == VERDICT_REDIRECT && !from_proxy)
		return DROP_PROXY_SET_FAILED;
	return 0;
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	const struct datapath_config *cfg = config_get();
	const struct endpoint_info *ep;
	struct policy_decision d;
	struct flow_context c;
	struct ct_entry *entry, *tracked;
	struct ct_key key;
	bool from_proxy, changed;
	__u32 now;
	int ret;

	__builtin_memset(&c, 0, sizeof(c));
	c.direction = DIR_INGRESS;
	ret = parse_packet(skb, &c.pkt);
	if (ret == PARSE_ARP)
		return TC_ACT_OK;
	ep = endpoint_lookup(skb->ifindex);
	if (!ep)
		return drop_packet(skb, &c, DROP_ENDPOINT_NOT_READY);
	c.endpoint_id = ep->endpoint_id;
	c.dst_identity = ep->identity;
	if (ret != PARSE_IPV4)
		return drop_packet(skb, &c, ret);
	from_proxy = (skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_FROM_PROXY;
	if (from_proxy)
		c.event_flags = EVENT_F_FROM_PROXY;
	now = monotonic_seconds();

	/* 1. A reply on a connection the endpoint opened (created by its from-container). */
	if (!(c.pkt.flags & PACKET_F_TCP_SYN_ONLY)) {
		ct_key_reverse(&key, &c.pkt, DIR_EGRESS);
		entry = ct_lookup(&key, now);
		if (entry) {
			changed = ct_update(entry, &c.pkt, true, cfg, now);
			c.src_identity = entry->dst_identity;
			c.cookie = entry->cookie;
			c.event_flags |= EVENT_F_REPLY;
			return forward_packet(skb, &c, cfg, TRACE_TO_ENDPOINT, TRACE_REASON_REPLY, changed);
		}
	}

	/* 2. An ICMP error about one of the endpoint's connections. */
	if ((c.pkt.flags & PACKET_F_ICMP_ERROR) && c.pkt.inner_saddr == ep->ipv4) {
		entry = ct_lookup_related(&c.pkt, DIR_EGRESS, DIR_INGRESS, now);
		if (entry) {
			c.src_identity = ipcache_identity(ipcache_lookup(c.pkt.saddr));
			c.event_flags |= EVENT_F_REPLY;
			return forward_packet(skb, &c, cfg, TRACE_TO_ENDPOINT, TRACE_REASON_RELATED, true);
		}
	}

	/* 3. A connection the endpoint accepted. A SYN opens a connection: it is decided as new even when its tuple is
	 * tracked (a retransmission, or the tuple reused after a close), and then reopens that entry in place. */
	ct_key_forward(&key, &c.pkt, DIR_INGRESS);
	tracked = ct_trackable(&c.pkt) ? ct_find(&key) : NULL;
	entry = tracked && ct_alive(tracked, now) && !(c.pkt.flags & PACKET_F_TCP_SYN_ONLY) ? tracked : NULL;
	if (entry) {
		c.src_identity = entry->src_identity;
		c.cookie = entry->cookie;
		if (entry->policy_generation != ep->policy_generation) {
			c.event_flags |= EVENT_F_REVALIDATED;
			counter_increment(COUNTER_POLICY_REVALIDATIONS);
			ret = ingress_decision(skb, &c, ep, cfg, entry->flags & CT_F_PROXY_UPSTREAM, &d);
			if (ret)
				return drop_packet(skb, &c, ret);
			entry->policy_generation = ep->policy_generation;
		}
		changed = ct_update(entry, &c.pkt, false, cfg, now);
		return forward_packet(skb, &c, cfg, TRACE_TO_ENDPOINT, TRACE_REASON_ESTABLISHED, changed);
	}

	/* 4. A new flow: the source identity comes from the proxy's mark or from the ipcache. */
	if (from_proxy) {
		c.src_identity = skb->mark >> MARK_IDENTITY_SHIFT;
		if (c.src_identity == IDENTITY_ANY)
			return drop_packet(skb, &c, DROP_INVALID_IDENTITY);
	} else {
		c.src_identity = ipcache_identity(ipcache_lookup(c.pkt.saddr));
	}
	ret = ingress_decision(skb, &c, ep, cfg, from_proxy, &d);
	if (ret)
		return drop_packet(skb, &c, ret);
	if (ct_trackable(&c.pkt)) {
		struct ct_verdict verdict = {
			.policy_generation = ep->policy_generation,
			.src_identity = c.src_identity,
			.dst_identity = ep->identity,
			.cookie = d.cookie,
			.endpoint_id = ep->endpoint_id,
			.flags = from_proxy ? CT_F_PROXY_UPSTREAM : 0,
		};

		ret = ct_create(&key, tracked, &verdict, &c.pkt, cfg, now);
		if (ret)
			return drop_packet(skb, &c, ret);
	}
	return forward_packet(skb, &c, cfg, TRACE_TO_ENDPOINT, TRACE_REASON_NEW, true);
}

char _license[] SEC("license") = "Dual BSD/GPL";
