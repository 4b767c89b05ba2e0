/*
 * test_frag.c - IKEv2 fragmentation (RFC 7383):
 *
 *  - reassembly (src/ike/frag.c) alone: in and out of order, duplicates
 *    and overlaps, bad numbers, too many, too large, an older and a newer
 *    fragmentation of the same message, another message ID, the timeout;
 *  - the codec: a large protected message split into SKF fragments,
 *    each opened on its own (CBC + HMAC and AES-GCM), reassembled and
 *    parsed back; a flipped octet in any fragment fails its ICV;
 *  - two engines (fake kernel) that negotiate fragmentation in
 *    IKE_SA_INIT and establish with an IKE_AUTH too large for the
 *    fragment size, both ways; the retransmitted first fragment of a
 *    request gets the whole response again; without the notify from
 *    one side nothing is fragmented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "crypto/xform.h"
#include "ike/exch.h"
#include "ike/frag.h"
#include "ike/iked.h"
#include "lib/log.h"

#include "harness.h"

/* ---- reassembly alone ---- */

static void add_ok(struct ike_frag_rx *rx, uint32_t mid, uint16_t n, uint16_t t,
		   const char *s, int want)
{
	assert_int_equal(ike_frag_add(rx, mid, n, t, n == 1 ? 35 : 0,
				      (const uint8_t *)s, strlen(s),
				      (const uint8_t *)"raw", 3, 1000),
			 want);
}

static void test_reassembly(void **st)
{
	struct ike_frag_rx rx = {0};
	uint8_t out[64];
	long n;

	(void)st;
	/* Out of order, with a duplicate and an overlap (same number,
	 * other content): the first copy stays. */
	add_ok(&rx, 5, 3, 3, "ghi", 0);
	add_ok(&rx, 5, 1, 3, "abc", 0);
	add_ok(&rx, 5, 1, 3, "abc", -EALREADY);
	add_ok(&rx, 5, 3, 3, "XYZ", -EALREADY);
	assert_int_equal(ike_frag_join(&rx, out, sizeof(out)), -ENOSPC);
	add_ok(&rx, 5, 2, 3, "def", IKE_FRAG_DONE);
	n = ike_frag_join(&rx, out, sizeof(out));
	assert_int_equal(n, 9);
	assert_memory_equal(out, "abcdefghi", 9);
	assert_int_equal(rx.first_np, 35);
	assert_int_equal(rx.first_raw_len, 3);
	assert_int_equal(ike_frag_join(&rx, out, 4), -ENOSPC);
	ike_frag_reset(&rx);
	assert_false(rx.active);

	/* Bad numbers, too many fragments: refused, nothing kept. */
	add_ok(&rx, 1, 0, 2, "a", -EINVAL);
	add_ok(&rx, 1, 3, 2, "a", -EINVAL);
	add_ok(&rx, 1, 1, 0, "a", -EINVAL);
	add_ok(&rx, 1, 1, IKEV2_FRAG_MAX + 1, "a", -EINVAL);
	assert_false(rx.active);

	/* §2.6: a smaller Total Fragments is from an older series and is
	 * dropped; a greater one restarts the reassembly. */
	add_ok(&rx, 2, 1, 4, "a", 0);
	add_ok(&rx, 2, 2, 3, "b", -ESTALE);
	assert_int_equal(rx.count, 1);
	add_ok(&rx, 2, 2, 5, "b", 0);
	assert_int_equal(rx.total, 5);
	assert_int_equal(rx.count, 1);
	/* Another message ID replaces the partial message. */
	add_ok(&rx, 3, 1, 2, "x", 0);
	assert_int_equal(rx.mid, 3);
	assert_int_equal(rx.count, 1);
	/* Never completed: dropped after the timeout. */
	assert_false(ike_frag_expire(&rx, 1000 + IKE_FRAG_TIMEOUT_MS - 1));
	assert_true(ike_frag_expire(&rx, 1000 + IKE_FRAG_TIMEOUT_MS));
	assert_false(rx.active);
	ike_frag_reset(&rx);
}

static void test_reassembly_too_large(void **st)
{
	static uint8_t big[IKE_FRAG_MAX_BYTES / 2 + 1];
	struct ike_frag_rx rx = {0};
	int rc;

	(void)st;
	rc = ike_frag_add(&rx, 9, 1, 3, 35, big, sizeof(big), NULL, 0, 0);
	assert_int_equal(rc, 0);
	/* The partial message goes with the refused fragment. */
	rc = ike_frag_add(&rx, 9, 2, 3, 0, big, sizeof(big), NULL, 0, 0);
	assert_int_equal(rc, -E2BIG);
	assert_false(rx.active);
	assert_int_equal(rx.bytes, 0);
	ike_frag_reset(&rx);
}

/* ---- codec ---- */

static void codec_roundtrip(uint16_t encr, uint16_t integ, size_t keylen)
{
	static uint8_t vid[3000], plain[IKEV2_MAX_MSG], whole[IKEV2_MAX_MSG];
	struct ikev2_sk_ctx out, in;
	uint8_t ekey[32], akey[32];
	struct ike_frag_rx rx = {0};
	struct ikev2_hdr h = {0};
	struct ikev2_wr b;
	struct ike_msg m;
	uint8_t *pkt;
	size_t len, off, n;
	unsigned nfrag, seen = 0;
	int rc = 0;
	long joined;

	for (size_t i = 0; i < sizeof(vid); i++)
		vid[i] = (uint8_t)(i * 7);
	memset(ekey, 0x11, sizeof(ekey));
	memset(akey, 0x22, sizeof(akey));
	assert_int_equal(
	    ikev2_sk_init(&out, encr, integ, ekey, keylen, akey, 32, true), 0);
	assert_int_equal(
	    ikev2_sk_init(&in, encr, integ, ekey, keylen, akey, 32, false), 0);
	h.spi_i = 0x0102030405060708ull;
	h.spi_r = 0x1112131415161718ull;
	h.exch = IKEV2_EXCH_INFORMATIONAL;
	h.flags = IKEV2_FLAG_INITIATOR;
	h.msgid = 4;
	assert_int_equal(ikev2_wr_begin(&b, &h), 0);
	assert_int_equal(ikev2_sk_begin(&b, &out), 0);
	assert_int_equal(ikev2_put_vendor(&b, vid, sizeof(vid)), 0);
	assert_int_equal(ikev2_put_notify_simple(&b, 16384, "x", 1), 0);
	assert_int_equal(ikev2_wr_finish_frag(&b, 500, &pkt, &len, &nfrag), 0);
	assert_true(nfrag >= 7);
	for (off = 0; off < len;) {
		size_t l = (size_t)pkt[off + 24] << 24 |
			   (size_t)pkt[off + 25] << 16 |
			   (size_t)pkt[off + 26] << 8 | pkt[off + 27];

		assert_true(l <= 500);
		memcpy(whole, pkt + off, l);
		assert_int_equal(ikev2_msg_parse(whole, l, &m), 0);
		assert_true(m.skf);
		assert_int_equal(m.skf_total, nfrag);
		assert_int_equal(m.skf_num, ++seen);
		assert_int_equal(m.sk_first, seen == 1 ? IKEV2_PL_V : 0);
		/* Any flipped octet fails this fragment's ICV. */
		whole[l - 1 - (seen % 40)] ^= 0x40;
		{
			struct ike_msg bad;
			assert_int_equal(ikev2_msg_parse(whole, l, &bad), 0);
			assert_int_equal(
			    ikev2_skf_open(&in, &bad, plain, sizeof(plain), &n),
			    -EBADMSG);
		}
		whole[l - 1 - (seen % 40)] ^= 0x40;
		assert_int_equal(ikev2_msg_parse(whole, l, &m), 0);
		assert_int_equal(
		    ikev2_skf_open(&in, &m, plain, sizeof(plain), &n), 0);
		rc = ike_frag_add(&rx, m.hdr.msgid, m.skf_num, m.skf_total,
				  m.sk_first, plain, n, whole, l, 0);
		off += l;
	}
	assert_int_equal(seen, nfrag);
	assert_int_equal(rc, IKE_FRAG_DONE);
	joined = ike_frag_join(&rx, plain, sizeof(plain));
	assert_true(joined > (long)sizeof(vid));
	assert_int_equal(
	    ikev2_msg_open_reassembled(&m, rx.first_np, plain, (size_t)joined),
	    0);
	{
		struct ikev2_vendor v;
		int i = ikev2_msg_next(&m, IKEV2_PL_V, -1);

		assert_true(i >= 0);
		assert_int_equal(ikev2_get_vendor(&m.pl[i], &v), 0);
		assert_int_equal(v.len, sizeof(vid));
		assert_memory_equal(v.data, vid, sizeof(vid));
		assert_true(ikev2_msg_find_notify(&m, 16384, NULL));
	}
	ike_frag_reset(&rx);
	free(pkt);
	/* Small enough: one ordinary SK message. */
	assert_int_equal(ikev2_wr_begin(&b, &h), 0);
	assert_int_equal(ikev2_sk_begin(&b, &out), 0);
	assert_int_equal(ikev2_put_notify_simple(&b, 16384, "x", 1), 0);
	assert_int_equal(ikev2_wr_finish_frag(&b, 500, &pkt, &len, &nfrag), 0);
	assert_int_equal(nfrag, 1);
	assert_int_equal(ikev2_msg_parse(pkt, len, &m), 0);
	assert_false(m.skf);
	assert_int_equal(ikev2_sk_open(&in, &m, plain, sizeof(plain)), 0);
	free(pkt);
	ikev2_sk_free(&out);
	ikev2_sk_free(&in);
}

static void test_codec_cbc(void **st)
{
	(void)st;
	codec_roundtrip(IKEV2_ENCR_AES_CBC, IKEV2_INTEG_HMAC_SHA2_256_128, 16);
}

static void test_codec_gcm(void **st)
{
	(void)st;
	/* RFC 5282: 16 octets of key + 4 of salt. */
	codec_roundtrip(IKEV2_ENCR_AES_GCM_16, 0, 20);
}

/* ---- two engines ---- */

static struct iked A, Bd;

static const char long_a[] =
    "fqdn:alice-with-a-very-long-name-so-that-ike-auth-needs-fragments."
    "0123456789.0123456789.0123456789.0123456789.0123456789.0123456789."
    "0123456789.0123456789.0123456789.0123456789.example";
static const char long_b[] =
    "fqdn:bob-with-a-very-long-name-so-that-ike-auth-needs-fragments."
    "0123456789.0123456789.0123456789.0123456789.0123456789.0123456789."
    "0123456789.0123456789.0123456789.0123456789.example";

static void peer_config(struct iked *d, const char *me, const char *peer,
			const char *myid, const char *peerid, bool frag)
{
	struct ike_remote *r;

	h_peer_config(d, me, peer);
	r = &d->cfg->remote[0];
	assert_int_equal(ike_id_parse(myid, &r->my_id), 0);
	assert_int_equal(ike_id_parse(peerid, &r->peer_id), 0);
	r->have_psk = true;
	r->psk_len = 6;
	memcpy(r->psk, "s3cret", 6);
	r->fragmentation = frag;
	r->fragment_size = 300; /* IP datagram: 272 octets of IKE */
}

static int setup(void **st)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 1000};

	(void)st;
	h_log_init();
	h_setup(eng, 2, &o);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

static void configs(bool a_frag, bool b_frag)
{
	peer_config(&A, "198.51.100.1", "198.51.100.2", long_a, long_b, a_frag);
	peer_config(&Bd, "198.51.100.2", "198.51.100.1", long_b, long_a,
		    b_frag);
}

static void test_engines_fragment(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	configs(true, true);
	h_initiate(&A, "peer", NULL, NULL);
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->frag);
	assert_true(b->frag);
	/* IKE_AUTH went as fragments both ways and was reassembled. */
	assert_true(a->frags_sent >= 2);
	assert_true(b->frags_sent >= 2);
	assert_int_equal(b->frags_rcvd, a->frags_sent);
	assert_int_equal(a->frags_rcvd, b->frags_sent);
	assert_int_equal(a->frags_refused + b->frags_refused, 0);
	/* The reassembly state is out of line and gone once nothing is
	 * partial; the response cache holds our window (1), not 16. */
	assert_null(a->fragst);
	assert_null(b->fragst);
	assert_int_equal(b->ncache, 1);
	assert_non_null(b->cache);
	assert_true(b->cache[0].valid);
	assert_int_equal(kfake_sa_count(&A.kern), 2);
	assert_int_equal(kfake_sa_count(&Bd.kern), 2);
}

static struct h_pkt *pop(void)
{
	struct h_pkt *k = h_pop();

	assert_non_null(k);
	return k;
}

static void test_engines_retransmit_and_hostile(void **st)
{
	struct h_pkt *q[IKEV2_FRAG_MAX], *k;
	struct ike_sa *a, *b;
	unsigned nreq = 0, nresp = 0, i, before;

	(void)st;
	configs(true, true);
	{
		char err[160];
		assert_int_equal(
		    iked_initiate(&A, "peer", NULL, NULL, err, sizeof(err)), 0);
	}
	k = pop(); /* IKE_SA_INIT request */
	h_deliver(k);
	free(k);
	k = pop(); /* response */
	h_deliver(k);
	free(k);
	/* IKE_AUTH request fragments. */
	while ((k = h_pop()))
		q[nreq++] = k;
	assert_true(nreq >= 2);
	b = Bd.sas;
	/* Duplicates of fragment 1 are refused, a forged fragment (bad
	 * ICV) is dropped before anything is kept. */
	assert_null(b->fragst);
	h_deliver(q[0]);
	assert_non_null(b->fragst); /* a partial request: allocated */
	assert_true(b->fragst->rx[0].active);
	/* The timeout (RFC 7383 §2.6) drops the partial message and frees
	 * the state; fragment 1 then starts it again. */
	assert_true(ev_timer_active(&b->fragst->timer));
	b->fragst->rx[0].start_ms -= IKE_FRAG_TIMEOUT_MS + 1;
	b->fragst->timer.cb(Bd.loop, &b->fragst->timer, b->fragst->timer.arg);
	assert_null(b->fragst);
	h_deliver(q[0]);
	assert_non_null(b->fragst);
	h_deliver(q[0]);
	assert_int_equal(b->frags_refused, 1);
	q[1]->data[q[1]->len - 1] ^= 1;
	h_deliver(q[1]);
	q[1]->data[q[1]->len - 1] ^= 1;
	/* fragment 1 before and after the timeout */
	assert_int_equal(b->frags_rcvd, 2);
	assert_null(h_pop());
	for (i = 1; i < nreq; i++)
		h_deliver(q[i]);
	assert_int_equal(b->state, IKE_S_ESTABLISHED);
	assert_null(b->fragst); /* reassembled: freed */
	/* The response fragments: dropped ("lost"). */
	while ((k = h_pop())) {
		nresp++;
		free(k);
	}
	assert_true(nresp >= 2);
	/* A retransmitted fragment other than the first: nothing; the
	 * first: every fragment of the response again. */
	before = h_sent;
	h_deliver(q[nreq - 1]);
	assert_int_equal(h_sent, before);
	h_deliver(q[0]);
	assert_int_equal(h_sent, before + nresp);
	for (i = 0; i < nreq; i++)
		free(q[i]);
	h_pump();
	a = h_est(&A, NULL);
	assert_non_null(a);
	assert_int_equal(a->frags_rcvd, nresp);
	assert_null(a->fragst);
}

static void test_engines_not_negotiated(void **st)
{
	struct ike_sa *a, *b;

	(void)st;
	configs(true, false);
	h_initiate(&A, "peer", NULL, NULL);
	a = h_est(&A, NULL);
	b = h_est(&Bd, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_false(a->frag);
	assert_false(b->frag);
	assert_int_equal(a->frags_sent + b->frags_sent, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reassembly),
	    cmocka_unit_test(test_reassembly_too_large),
	    cmocka_unit_test(test_codec_cbc),
	    cmocka_unit_test(test_codec_gcm),
	    cmocka_unit_test_setup_teardown(test_engines_fragment, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_engines_retransmit_and_hostile,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engines_not_negotiated, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
