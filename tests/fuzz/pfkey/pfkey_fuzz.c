/*
 * pfkey_fuzz.c - libFuzzer harness for the PF_KEY v2 parsers
 * (src/kernel/pfkey_msg.c).  The input is one PF_KEY datagram as a
 * kernel would deliver it.  A message that passes pfk_parse() is read by
 * every typed parser in every dialect (FreeBSD, NetBSD, Linux), and as
 * each event type whatever its own type, so each parser sees arbitrary
 * extensions.  What parses and validates is encoded again and re-parsed:
 * the builders must accept what the parsers produce and agree on it.
 * Seeds in tests/corpus/pfkey/ come from gen_corpus.c.  Nothing is kept.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "kernel/pfkey_msg.h"
#include "lib/wr.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../kevent_use.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode_sa(const struct pfk_flavor *fl, const struct ksa *sa)
{
	struct pfk_req rq = {fl, 1, 1};
	struct pfk_msg m;
	struct ksa back;
	struct wr w;
	char err[128];

	wr_init(&w, PFK_REQ_MAX);
	if (pfk_build_sa(&w, &rq, sa, err, sizeof(err)) == 0) {
		if (pfk_parse(w.buf, w.len, &m) != 0 ||
		    pfk_parse_sa(fl, &m, &back, NULL) != 0 ||
		    back.spi != sa->spi || back.encr_id != sa->encr_id ||
		    back.enc_key_len != sa->enc_key_len)
			__builtin_trap();
		ksa_wipe(&back);
	}
	wr_free(&w);
}

static void reencode_policy(const struct pfk_flavor *fl,
			    const struct kpolicy *p)
{
	struct pfk_req rq = {fl, 1, 1};
	struct pfk_msg m;
	struct kpolicy back;
	uint32_t kid;
	struct wr w;
	char err[128];

	wr_init(&w, PFK_REQ_MAX);
	if (pfk_build_policy(&w, &rq, PFK_X_SPDADD, p, err, sizeof(err)) == 0) {
		if (pfk_parse(w.buf, w.len, &m) != 0 ||
		    pfk_parse_policy(fl, &m, &back, &kid) != 0 ||
		    !ksel_eq(&back.sel, &p->sel) || back.ntmpl != p->ntmpl)
			__builtin_trap();
	}
	wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t event_types[] = {
	    PFK_ACQUIRE,
	    PFK_EXPIRE,
	    PFK_X_SPDEXPIRE,
	    PFK_X_MIGRATE,
	    PFK_X_NAT_T_NEW_MAPPING,
	};
	static const enum pfk_os oses[] = {PFK_OS_FREEBSD, PFK_OS_NETBSD,
					   PFK_OS_LINUX};
	struct pfk_msg m;

	if (pfk_parse(data, size, &m) != 0)
		return 0;
	if (pfk_msg_error(&m) > 0)
		__builtin_trap();
	for (size_t o = 0; o < sizeof(oses) / sizeof(oses[0]); o++) {
		const struct pfk_flavor *fl = pfk_flavor(oses[o]);
		struct pfk_msg t = m;
		struct kevent ev;
		struct kpolicy p;
		struct ksa sa;
		struct kcounters c;
		uint32_t kid;

		if (pfk_parse_event(fl, &m, &ev, &kid) == 0)
			use_event(&ev);
		t.err = 0;
		for (size_t i = 0; i < sizeof(event_types); i++) {
			t.type = event_types[i];
			if (pfk_parse_event(fl, &t, &ev, &kid) == 0)
				use_event(&ev);
		}
		if (pfk_parse_policy(fl, &m, &p, &kid) == 0) {
			if (p.ntmpl > KPOL_MAX_TMPL)
				__builtin_trap();
			use_sel(&p.sel);
			reencode_policy(fl, &p);
		}
		if (pfk_parse_sa(fl, &m, &sa, &c) == 0) {
			if (sa.enc_key_len > KSA_MAX_KEY ||
			    sa.auth_key_len > KSA_MAX_KEY)
				__builtin_trap();
			reencode_sa(fl, &sa);
			ksa_wipe(&sa);
		}
		pfk_parse_sa(fl, &m, NULL, &c);
	}
	return 0;
}
