/*
 * netlink_fuzz.c - libFuzzer harness for the XFRM netlink parsers
 * (src/kernel/xfrm_msg.c).  The input is one netlink datagram as the
 * kernel would deliver it; every message in it is run through every
 * parser (event, policy, SA with and without keys, error), whatever its
 * type, so each parser sees arbitrary payloads.  Parsed results are
 * formatted to catch bad values that survive parsing.  Seeds in
 * tests/corpus/netlink/ are real kernel messages captured in a netns
 * (events, dumps, replies, extended ACKs) plus MIGRATE/MAPPING built to
 * the uapi layout.  The same messages go through the rtnetlink parser
 * (rtnl_msg.c, iked's address monitor) as each address and route type;
 * seeds rtnl-*.bin are real kernel answers (RTM_GETADDR dump,
 * RTM_GETROUTE).  No allocation is kept; nothing to free.
 */
#include "kernel/kernel.h"
#include "kernel/rtnl_msg.h"
#include "kernel/xfrm_msg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>

#include "../kevent_use.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t event_types[] = {
	    XFRM_MSG_ACQUIRE, XFRM_MSG_EXPIRE,	XFRM_MSG_POLEXPIRE,
	    XFRM_MSG_MIGRATE, XFRM_MSG_MAPPING,
	};
	struct rd stream = rd_init(data, size);
	struct xnl_msg m;

	while (xnl_next(&stream, &m) > 0) {
		struct xnl_msg t = m;
		struct kevent ev;
		struct kpolicy p;
		struct ksa sa;
		struct kcounters c;
		char text[64];
		int err;

		if (xnl_parse_event(&m, &ev) == 0)
			use_event(&ev);
		for (size_t i = 0; i < sizeof(event_types) / 2; i++) {
			t.type = event_types[i];
			if (xnl_parse_event(&t, &ev) == 0)
				use_event(&ev);
		}
		{
			static const uint16_t rtnl_types[] = {
			    RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE,
			    RTM_DELROUTE};
			struct rtnl_ev re;

			for (size_t i = 0; i < 4; i++) {
				t.type = rtnl_types[i];
				if (rtnl_parse(&t, &re) == 0 &&
				    ((re.addr.af != AF_INET &&
				      re.addr.af != AF_INET6) ||
				     (re.src.af && re.src.af != re.addr.af) ||
				     re.plen > 128))
					__builtin_trap();
			}
		}
		t.type = XFRM_MSG_NEWPOLICY;
		if (xnl_parse_policy(&t, &p) == 0) {
			use_sel(&p.sel);
			if (p.ntmpl > KPOL_MAX_TMPL)
				__builtin_trap();
		}
		t.type = XFRM_MSG_NEWSA;
		if (xnl_parse_sa(&t, &sa, &c) == 0) {
			if (sa.enc_key_len > KSA_MAX_KEY ||
			    sa.auth_key_len > KSA_MAX_KEY)
				__builtin_trap();
			ksa_wipe(&sa);
		}
		xnl_parse_sa(&t, NULL, &c);
		t.type = NLMSG_ERROR;
		if (xnl_parse_error(&t, &err, text, sizeof(text)) == 0 &&
		    (err > 0 || strlen(text) >= sizeof(text)))
			__builtin_trap();
	}
	return 0;
}
