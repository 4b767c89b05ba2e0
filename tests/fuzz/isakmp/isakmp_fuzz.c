/*
 * isakmp_fuzz.c - libFuzzer harness for the ISAKMP message codec
 * (src/isakmp/isakmp_msg.c, RFC 2408) as IKEv1 uses it.  The input is an
 * ISAKMP datagram.  An encrypted body (E flag) is taken as plaintext (no
 * key here) and parsed as a padded chain.  Every payload of a chain that
 * parses is decoded with its typed view, and each view is rebuilt and
 * parsed again to the same bytes (builder/parser agreement).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isakmp/isakmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuild one payload and compare the body octets. */
static void same_body(const struct isakmp_pl *pl, struct isakmp_wr *b)
{
	uint8_t *pkt;
	size_t len;
	struct isakmp_msg m2;

	if (isakmp_wr_finish(b, &pkt, &len) != 0)
		abort();
	if (len < ISAKMP_HDR_LEN + ISAKMP_GENHDR_LEN)
		abort();
	memset(&m2, 0, sizeof(m2));
	m2.hdr.exch = pkt[18];
	m2.hdr.np = pkt[16];
	if (len - ISAKMP_HDR_LEN - ISAKMP_GENHDR_LEN != pl->len ||
	    memcmp(pkt + ISAKMP_HDR_LEN + ISAKMP_GENHDR_LEN, pl->body,
		   pl->len) != 0)
		abort();
	free(pkt);
}

static void views(const struct isakmp_msg *m)
{
	struct isakmp_hdr h = {.icookie = 1, .exch = m->hdr.exch};

	for (unsigned i = 0; i < m->npl; i++) {
		const struct isakmp_pl *pl = &m->pl[i];
		struct isakmp_wr b;
		union {
			struct isakmp_sa sa;
			struct isakmp_id1 id1;
			struct isakmp_id id;
			struct isakmp_cert c;
			struct isakmp_notify n;
			struct isakmp_delete d;
			struct isakmp_natoa oa;
		} u;

		isakmp_wr_begin(&b, &h);
		switch (pl->type) {
		case ISAKMP_NP_SA:
			if (isakmp_get_sa(pl, &u.sa) != 0)
				abort(); /* the chain check accepted it */
			/* attributes are normalised on rebuild: only check
			 * the rebuilt SA parses to the same counts */
			isakmp_put_sa(&b, &u.sa);
			{
				uint8_t *pkt;
				size_t len;
				struct isakmp_pl p2;
				struct isakmp_sa sa2;

				if (isakmp_wr_finish(&b, &pkt, &len) != 0)
					abort();
				p2.type = ISAKMP_NP_SA;
				p2.body = pkt + 32;
				p2.len = len - 32;
				if (isakmp_get_sa(&p2, &sa2) != 0 ||
				    sa2.n_props != u.sa.n_props)
					abort();
				for (unsigned j = 0; j < sa2.n_props; j++)
					if (sa2.p[j].n_xforms !=
					    u.sa.p[j].n_xforms)
						abort();
				free(pkt);
			}
			continue;
		case ISAKMP_NP_ID:
			if (isakmp_get_id1(pl, &u.id1) != 0)
				abort();
			isakmp_put_id1(&b, &u.id1);
			same_body(pl, &b);
			if (isakmp_get_id(pl, &u.id) == 0) {
				isakmp_wr_begin(&b, &h);
				isakmp_put_id(&b, &u.id);
				same_body(pl, &b);
			}
			continue;
		case ISAKMP_NP_CERT:
		case ISAKMP_NP_CR:
			if (isakmp_get_cert(pl, &u.c) != 0)
				abort();
			isakmp_put_cert(&b, pl->type, &u.c);
			break;
		case ISAKMP_NP_N:
			if (isakmp_get_notify(pl, &u.n) != 0)
				abort();
			isakmp_put_notify(&b, &u.n);
			(void)isakmp_notify_name(u.n.type);
			break;
		case ISAKMP_NP_D:
			if (isakmp_get_delete(pl, &u.d) != 0)
				abort();
			isakmp_put_delete(&b, &u.d);
			break;
		case ISAKMP_NP_NATOA:
			if (isakmp_get_natoa(pl, &u.oa) != 0)
				abort();
			isakmp_put_natoa(&b, &u.oa);
			break;
		case ISAKMP_NP_VID:
			(void)isakmp_vid_lookup(pl->body, pl->len);
			isakmp_put_raw(&b, pl->type, pl->body, pl->len);
			break;
		default:
			isakmp_put_raw(&b, pl->type, pl->body, pl->len);
			break;
		}
		same_body(pl, &b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isakmp_msg m;

	if (isakmp_msg_parse(data, size, &m) != 0)
		return 0;
	(void)isakmp_exch_name(m.hdr.exch);
	if (m.hdr.flags & ISAKMP_FLAG_E) {
		if (isakmp_msg_parse_chain(&m, m.enc, m.enc_len, true) != 0)
			return 0;
	}
	views(&m);
	return 0;
}
