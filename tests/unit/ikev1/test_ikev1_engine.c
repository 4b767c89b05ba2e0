/*
 * test_ikev1_engine.c - src/ikev1 initiator against src/ikev1 responder
 * in memory: Main Mode with a PSK, Quick Mode with and without PFS (both
 * sides derive the same ESP keys, crossed), Informational Delete, DPD
 * (RFC 3706) R-U-THERE/ACK; and the failure paths: wrong PSK, tampered
 * ciphertext (nothing changes, IVs included), replayed Quick Mode and
 * Informational messages, retransmissions answered with the same bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ikev1/ikev1.h"

static uint32_t next_spi = 0xc0000001;

static int fake_getspi(void *arg, uint32_t *spi)
{
	(void)arg;
	*spi = next_spi++;
	return 0;
}

static void conf_init(struct ikev1_conf *c, bool left, const char *psk,
		      uint16_t pfs)
{
	static const uint8_t a[4] = {198, 51, 100, 1}, b[4] = {198, 51, 100, 2};
	static const uint8_t na[4] = {203, 0, 113, 1}, nb[4] = {203, 0, 113, 2};

	memset(c, 0, sizeof(*c));
	c->psk = (const uint8_t *)psk;
	c->psk_len = strlen(psk);
	c->id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c->id, left ? a : b, 4);
	c->id_len = 4;
	c->peer_id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c->peer_id, left ? b : a, 4);
	c->peer_id_len = 4;
	/* the initiator offers 3DES first: the responder takes AES-256 */
	c->p1[c->n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 256, ISAKMP_P1_HASH_SHA2_256, 14, 28800};
	c->p1[c->n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 128, ISAKMP_P1_HASH_SHA1, 14, 28800};
	c->p2[c->n_p2++] = (struct ikev1_p2_suite){
	    ISAKMP_ESP_AES_CBC, 128, ISAKMP_AUTH_HMAC_SHA2_256, 3600};
	c->p2[c->n_p2++] = (struct ikev1_p2_suite){ISAKMP_ESP_AES_CBC, 256,
						   ISAKMP_AUTH_HMAC_SHA1, 3600};
	c->pfs_group = pfs;
	assert_int_equal(
	    isakmp_id_from_prefix(&c->ts_local, 2, left ? na : nb, 32, 0, 0),
	    0);
	assert_int_equal(
	    isakmp_id_from_prefix(&c->ts_remote, 2, left ? nb : na, 32, 0, 0),
	    0);
	c->getspi = fake_getspi;
}

struct pair {
	struct ikev1_conf ci, cr;
	struct ikev1_sa *i, *r;
};

/* Main Mode: 6 messages. */
static void main_mode(struct pair *p)
{
	struct ikev1_out o1, o2;
	struct isakmp_msg m;

	assert_int_equal(ikev1_sa_new_initiator(&p->ci, &p->i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&p->cr, &m, &p->r, &o2), 0);
	ikev1_out_clear(&o1);
	for (int step = 0; step < 5; step++) {
		struct ikev1_sa *to = step % 2 == 0 ? p->i : p->r;
		assert_non_null(o2.pkt);
		assert_int_equal(ikev1_input(to, o2.pkt, o2.len, &o1), 0);
		ikev1_out_clear(&o2);
		o2 = o1;
		memset(&o1, 0, sizeof(o1));
		if (step == 3)
			assert_true(o2.established); /* responder after 5 */
	}
	assert_true(o2.established); /* initiator after 6 */
	assert_null(o2.pkt);
	ikev1_out_clear(&o2);
	assert_int_equal(ikev1_sa_state(p->i), IKEV1_ESTABLISHED);
	assert_int_equal(ikev1_sa_state(p->r), IKEV1_ESTABLISHED);
	const struct ikev1_keys *ki = ikev1_sa_keys(p->i);
	const struct ikev1_keys *kr = ikev1_sa_keys(p->r);
	assert_int_equal(ki->prf, IKEV2_PRF_HMAC_SHA2_256);
	assert_int_equal(ki->keybits, 256);
	assert_memory_equal(ki->skeyid_d, kr->skeyid_d, ki->hlen);
	assert_memory_equal(ki->enc_key, kr->enc_key, 32);
	assert_memory_equal(ki->iv, kr->iv, ki->block);
}

static void pair_free(struct pair *p)
{
	ikev1_sa_free(p->i);
	ikev1_sa_free(p->r);
}

static void check_child(const struct ikev1_child *a,
			const struct ikev1_child *b)
{
	assert_int_equal(a->spi_in, b->spi_out);
	assert_int_equal(a->spi_out, b->spi_in);
	assert_int_equal(a->encr, IKEV2_ENCR_AES_CBC);
	assert_int_equal(a->integ, IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(a->keylen, 16 + 32);
	assert_memory_equal(a->key_in, b->key_out, a->keylen);
	assert_memory_equal(a->key_out, b->key_in, a->keylen);
	assert_memory_not_equal(a->key_in, a->key_out, a->keylen);
	assert_int_equal(a->ts_local.data[3], b->ts_remote.data[3]);
}

/* Quick Mode: 3 messages; returns the two children. */
static void quick_mode(struct pair *p, struct ikev1_child *ci,
		       struct ikev1_child *cr)
{
	struct ikev1_out q1, q2, q3, done;

	assert_int_equal(ikev1_quick_start(p->i, &q1), 0);
	assert_int_equal(ikev1_input(p->r, q1.pkt, q1.len, &q2), 0);
	assert_non_null(q2.pkt);
	assert_false(q2.child_ready);
	assert_int_equal(ikev1_input(p->i, q2.pkt, q2.len, &q3), 0);
	assert_true(q3.child_ready);
	assert_non_null(q3.pkt);
	assert_int_equal(ikev1_input(p->r, q3.pkt, q3.len, &done), 0);
	assert_true(done.child_ready);
	assert_null(done.pkt);
	*ci = q3.child;
	*cr = done.child;
	check_child(ci, cr);
	/* a replayed QM1 (its M-ID is in the window, the exchange done)
	 * changes nothing */
	struct ikev1_out x;
	const struct ikev1_stats *st = ikev1_sa_stats(p->r);
	uint64_t replayed = st->replayed;
	assert_int_not_equal(ikev1_input(p->r, q1.pkt, q1.len, &x), 0);
	assert_null(x.pkt);
	assert_false(x.child_ready);
	assert_true(st->replayed > replayed);
	ikev1_out_clear(&q1);
	ikev1_out_clear(&q2);
	ikev1_out_clear(&q3);
	ikev1_out_clear(&done);
}

static void mm_qm_no_pfs(void **state)
{
	struct pair p;
	struct ikev1_child a, b;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	/* the initiator offers 3DES/SHA1 first, the responder has no 3DES */
	memmove(&p.ci.p1[1], &p.ci.p1[0], 2 * sizeof(p.ci.p1[0]));
	p.ci.p1[0] = (struct ikev1_p1_suite){ISAKMP_P1_ENCR_3DES, 0,
					     ISAKMP_P1_HASH_SHA1, 14, 3600};
	p.ci.n_p1 = 3;
	main_mode(&p);
	quick_mode(&p, &a, &b);
	assert_false(a.pfs);
	pair_free(&p);
}

static void mm_qm_pfs_and_delete(void **state)
{
	struct pair p;
	struct ikev1_child a, b;
	struct ikev1_out d, r, x;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 14);
	conf_init(&p.cr, false, "s3cret-psk", 14);
	main_mode(&p);
	quick_mode(&p, &a, &b);
	assert_true(a.pfs);
	/* a second Quick Mode gets other SPIs and other keys */
	struct ikev1_child a2, b2;
	quick_mode(&p, &a2, &b2);
	assert_int_not_equal(a2.spi_in, a.spi_in);
	assert_memory_not_equal(a2.key_in, a.key_in, a.keylen);

	/* DPD (RFC 3706): R-U-THERE answered by its ACK, twice; a replayed
	 * R-U-THERE is dropped */
	for (int k = 0; k < 2; k++) {
		struct ikev1_out u, ack, got;
		assert_int_equal(ikev1_dpd(p.i, &u), 0);
		assert_int_equal(ikev1_input(p.r, u.pkt, u.len, &ack), 0);
		assert_non_null(ack.pkt);
		assert_int_equal(ikev1_input(p.i, ack.pkt, ack.len, &got), 0);
		assert_true(got.dpd_ack);
		assert_null(got.pkt);
		ikev1_out_clear(&got);
		assert_int_equal(ikev1_input(p.r, u.pkt, u.len, &got),
				 -EBADMSG);
		assert_null(got.pkt);
		/* the same ACK again is a replay, not a second ACK */
		assert_int_equal(ikev1_input(p.i, ack.pkt, ack.len, &got),
				 -EBADMSG);
		assert_false(got.dpd_ack);
		ikev1_out_clear(&u);
		ikev1_out_clear(&ack);
	}

	/* Delete of the initiator's first CHILD SA, by its inbound SPI */
	assert_int_equal(ikev1_delete(p.i, a.spi_in, &d), 0);
	assert_int_equal(ikev1_input(p.r, d.pkt, d.len, &r), 0);
	assert_int_equal(r.deleted_proto, ISAKMP_PROTO_ESP);
	assert_int_equal(r.deleted_spi, b.spi_out);
	/* the same Informational again: a replay */
	assert_int_equal(ikev1_input(p.r, d.pkt, d.len, &x), -EBADMSG);
	assert_int_equal(x.deleted_proto, 0);
	ikev1_out_clear(&d);
	ikev1_out_clear(&r);
	/* Delete of the ISAKMP SA */
	assert_int_equal(ikev1_delete(p.r, 0, &d), 0);
	assert_int_equal(ikev1_sa_state(p.r), IKEV1_DEAD);
	assert_int_equal(ikev1_input(p.i, d.pkt, d.len, &r), 0);
	assert_int_equal(r.deleted_proto, ISAKMP_PROTO_ISAKMP);
	assert_int_equal(ikev1_sa_state(p.i), IKEV1_DEAD);
	ikev1_out_clear(&d);
	ikev1_out_clear(&r);
	pair_free(&p);
}

/* CPIs and AH SPIs of the bundle tests (getspi_proto) */
static uint32_t next_cpi = 0x1000;

static int fake_getspi_proto(void *arg, uint8_t proto, uint32_t *spi)
{
	(void)arg;
	if (proto == ISAKMP_PROTO_IPCOMP) {
		*spi = next_cpi++;
		return 0;
	}
	*spi = next_spi++;
	return 0;
}

static void conf_bundle(struct ikev1_conf *c, bool ah, bool esp, bool comp)
{
	if (!esp)
		c->n_p2 = 0;
	c->n_ah = 0;
	if (ah) {
		c->ah[c->n_ah++] = (struct isakmp_ah_suite){
		    ISAKMP_AH_SHA2_512, ISAKMP_AUTH_HMAC_SHA2_512};
		c->ah[c->n_ah++] = (struct isakmp_ah_suite){
		    ISAKMP_AH_SHA, ISAKMP_AUTH_HMAC_SHA1};
	}
	c->ipcomp = comp ? ISAKMP_IPCOMP_DEFLATE : 0;
	c->p2_life_sec = 3600;
	c->getspi_proto = fake_getspi_proto;
}

/* Quick Mode without the ESP-only checks of quick_mode(). */
static void quick_mode_any(struct pair *p, struct ikev1_child *ci,
			   struct ikev1_child *cr)
{
	struct ikev1_out q1, q2, q3, done;

	assert_int_equal(ikev1_quick_start(p->i, &q1), 0);
	assert_int_equal(ikev1_input(p->r, q1.pkt, q1.len, &q2), 0);
	assert_non_null(q2.pkt);
	assert_int_equal(ikev1_input(p->i, q2.pkt, q2.len, &q3), 0);
	assert_true(q3.child_ready);
	assert_int_equal(ikev1_input(p->r, q3.pkt, q3.len, &done), 0);
	assert_true(done.child_ready);
	*ci = q3.child;
	*cr = done.child;
	ikev1_out_clear(&q1);
	ikev1_out_clear(&q2);
	ikev1_out_clear(&q3);
	ikev1_out_clear(&done);
}

/* racoon2's bundles: AH, AH+ESP, ESP+IPComp, AH+ESP+IPComp, each SA with
 * its SPIs and its own KEYMAT (RFC 2409 §5.5), crossed on both sides;
 * a responder without IPComp agrees on the set without it; a whole
 * bundle is deleted with one Delete payload per protocol. */
static void qm_bundles(void **state)
{
	static const bool sets[][3] = {
	    {true, false, false},
	    {true, true, false},
	    {false, true, true},
	    {true, true, true},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct pair p;
		struct ikev1_child a, b;
		struct ikev1_out d, r;
		bool ah = sets[i][0], esp = sets[i][1], comp = sets[i][2];

		conf_init(&p.ci, true, "s3cret-psk", 14);
		conf_init(&p.cr, false, "s3cret-psk", 14);
		conf_bundle(&p.ci, ah, esp, comp);
		conf_bundle(&p.cr, ah, esp, comp);
		main_mode(&p);
		quick_mode_any(&p, &a, &b);
		assert_int_equal(a.proto,
				 esp ? ISAKMP_PROTO_ESP : ISAKMP_PROTO_AH);
		assert_int_equal(a.spi_in, b.spi_out);
		assert_int_equal(a.spi_out, b.spi_in);
		assert_memory_equal(a.key_in, b.key_out, a.keylen);
		assert_memory_equal(a.key_out, b.key_in, a.keylen);
		assert_int_equal(a.life_sec, 3600);
		if (!esp) {
			assert_int_equal(a.encr, 0);
			assert_int_equal(a.integ,
					 IKEV2_INTEG_HMAC_SHA2_512_256);
			assert_int_equal(a.keylen, 64);
		}
		assert_int_equal(a.ah, ah && esp);
		if (ah && esp) {
			assert_int_equal(a.ah_spi_in, b.ah_spi_out);
			assert_int_equal(a.ah_spi_out, b.ah_spi_in);
			assert_int_equal(a.ah_integ,
					 IKEV2_INTEG_HMAC_SHA2_512_256);
			assert_int_equal(a.ah_keylen, 64);
			assert_memory_equal(a.ah_key_in, b.ah_key_out, 64);
			assert_memory_equal(a.ah_key_out, b.ah_key_in, 64);
			/* AH and ESP keys differ (protocol and SPI in
			 * the prf input) */
			assert_memory_not_equal(a.ah_key_in + 0, a.key_in + 16,
						32);
		}
		assert_int_equal(a.ipcomp, comp ? ISAKMP_IPCOMP_DEFLATE : 0);
		if (comp) {
			assert_int_equal(a.cpi_in, b.cpi_out);
			assert_int_equal(a.cpi_out, b.cpi_in);
			assert_true(a.cpi_in >= 0x1000);
		}
		/* the whole bundle: Delete AH, ESP, IPComp */
		assert_int_equal(
		    ikev1_delete_bundle(p.i, esp ? a.spi_in : 0,
					ah ? (esp ? a.ah_spi_in : a.spi_in) : 0,
					a.cpi_in, &d),
		    0);
		assert_int_equal(ikev1_input(p.r, d.pkt, d.len, &r), 0);
		/* reported by the first Delete (AH when there is one) */
		assert_int_equal(r.deleted_proto,
				 ah ? ISAKMP_PROTO_AH : ISAKMP_PROTO_ESP);
		assert_int_equal(r.deleted_spi,
				 ah ? (esp ? b.ah_spi_out : b.spi_out)
				    : b.spi_out);
		ikev1_out_clear(&d);
		ikev1_out_clear(&r);
		pair_free(&p);
	}
	{
		/* IPComp optional: responder without it, initiator without
		 * it */
		struct pair p;
		struct ikev1_child a, b;

		conf_init(&p.ci, true, "s3cret-psk", 0);
		conf_init(&p.cr, false, "s3cret-psk", 0);
		conf_bundle(&p.ci, false, true, true);
		conf_bundle(&p.cr, false, true, false);
		main_mode(&p);
		quick_mode_any(&p, &a, &b);
		assert_int_equal(a.ipcomp, 0);
		assert_int_equal(b.ipcomp, 0);
		pair_free(&p);
		conf_init(&p.ci, true, "s3cret-psk", 0);
		conf_init(&p.cr, false, "s3cret-psk", 0);
		conf_bundle(&p.ci, false, true, false);
		conf_bundle(&p.cr, false, true, true);
		main_mode(&p);
		quick_mode_any(&p, &a, &b);
		assert_int_equal(a.ipcomp, 0);
		assert_int_equal(b.ipcomp, 0);
		pair_free(&p);
	}
	{
		/* AH+ESP against ESP alone: no Quick Mode */
		struct pair p;
		struct ikev1_out q1, q2;

		conf_init(&p.ci, true, "s3cret-psk", 0);
		conf_init(&p.cr, false, "s3cret-psk", 0);
		conf_bundle(&p.ci, true, true, false);
		conf_bundle(&p.cr, false, true, false);
		main_mode(&p);
		assert_int_equal(ikev1_quick_start(p.i, &q1), 0);
		assert_int_not_equal(ikev1_input(p.r, q1.pkt, q1.len, &q2), 0);
		assert_false(q2.child_ready);
		ikev1_out_clear(&q1);
		ikev1_out_clear(&q2);
		pair_free(&p);
	}
}

static void wrong_psk(void **state)
{
	struct pair p;
	struct ikev1_out o1, o2;
	struct isakmp_msg m;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "other-psk", 0);
	assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2), 0);
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o1), 0); /* 3 */
	ikev1_out_clear(&o2);
	assert_int_equal(ikev1_input(p.r, o1.pkt, o1.len, &o2), 0); /* 4 */
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o1), 0); /* 5 */
	ikev1_out_clear(&o2);
	/* message 5 decrypts to garbage or fails HASH_I: no SA */
	assert_true(ikev1_input(p.r, o1.pkt, o1.len, &o2) < 0);
	assert_null(o2.pkt);
	assert_int_equal(ikev1_sa_state(p.r), IKEV1_MM_R4);
	assert_true(ikev1_sa_stats(p.r)->dropped >= 1);
	ikev1_out_clear(&o1);
	pair_free(&p);
}

static void tamper_and_retransmit(void **state)
{
	struct pair p;
	struct ikev1_out o1, o2, o3;
	struct isakmp_msg m;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2), 0);
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o1), 0); /* 3 */
	ikev1_out_clear(&o2);
	assert_int_equal(ikev1_input(p.r, o1.pkt, o1.len, &o2), 0); /* 4 */
	/* message 3 again: the responder sends message 4 again, as is */
	assert_int_equal(ikev1_input(p.r, o1.pkt, o1.len, &o3), 0);
	assert_int_equal(o3.len, o2.len);
	assert_memory_equal(o3.pkt, o2.pkt, o2.len);
	ikev1_out_clear(&o3);
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o1), 0); /* 5 */
	ikev1_out_clear(&o2);
	/* message 5 with one ciphertext bit flipped: dropped, and the
	 * genuine one still works (the IV was not advanced) */
	uint8_t *bad = malloc(o1.len);
	memcpy(bad, o1.pkt, o1.len);
	bad[o1.len - 20] ^= 1;
	assert_true(ikev1_input(p.r, bad, o1.len, &o2) < 0);
	assert_null(o2.pkt);
	free(bad);
	assert_int_equal(ikev1_input(p.r, o1.pkt, o1.len, &o2), 0); /* 6 */
	assert_true(o2.established);
	/* the retransmission timer resends message 5 */
	assert_int_equal(ikev1_retransmit(p.i, &o3), 0);
	assert_int_equal(o3.len, o1.len);
	assert_memory_equal(o3.pkt, o1.pkt, o1.len);
	ikev1_out_clear(&o3);
	/* ... and the responder answers the duplicate with message 6 */
	assert_int_equal(ikev1_input(p.r, o1.pkt, o1.len, &o3), 0);
	assert_int_equal(o3.len, o2.len);
	assert_memory_equal(o3.pkt, o2.pkt, o2.len);
	ikev1_out_clear(&o3);
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o1), 0);
	assert_true(o1.established);
	ikev1_out_clear(&o1);
	ikev1_out_clear(&o2);

	/* Quick Mode: a QM1 retransmission gets the same QM2 */
	struct ikev1_out q1, q2, q2b, q3;
	assert_int_equal(ikev1_quick_start(p.i, &q1), 0);
	assert_int_equal(ikev1_input(p.r, q1.pkt, q1.len, &q2), 0);
	assert_int_equal(ikev1_input(p.r, q1.pkt, q1.len, &q2b), 0);
	assert_int_equal(q2b.len, q2.len);
	assert_memory_equal(q2b.pkt, q2.pkt, q2.len);
	assert_false(q2b.child_ready);
	ikev1_out_clear(&q2b);
	/* a tampered QM2: dropped without a trace, then the real one */
	uint8_t *b2 = malloc(q2.len);
	memcpy(b2, q2.pkt, q2.len);
	b2[40] ^= 0x80;
	assert_true(ikev1_input(p.i, b2, q2.len, &q3) < 0);
	assert_false(q3.child_ready);
	free(b2);
	assert_int_equal(ikev1_input(p.i, q2.pkt, q2.len, &q3), 0);
	assert_true(q3.child_ready);
	ikev1_out_clear(&q1);
	ikev1_out_clear(&q2);
	ikev1_out_clear(&q3);
	pair_free(&p);
}

/* NAT-T (RFC 3947): VIDs, NAT-D; the peer fakes a NAT (charon's
 * encap=yes does the same): both see it, float, UDP-encapsulated tunnel. */
static void natt_forced(void **state)
{
	struct pair p;
	struct ikev1_out o1, o2;
	struct isakmp_msg m;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct sockaddr_in b = a;
	bool floated_i = false, floated_r = false;

	(void)state;
	a.sin_addr.s_addr = htonl(0xc6336401);
	b.sin_addr.s_addr = htonl(0xc6336402);
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	p.ci.natt = p.cr.natt = true;
	p.cr.natt_force = true;
	assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
	assert_int_equal(ikev1_sa_set_addrs(p.i, (struct sockaddr *)&a,
					    (struct sockaddr *)&b),
			 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2), 0);
	assert_int_equal(ikev1_sa_set_addrs(p.r, (struct sockaddr *)&b,
					    (struct sockaddr *)&a),
			 0);
	ikev1_out_clear(&o1);
	for (int step = 0; step < 5; step++) {
		struct ikev1_sa *to = step % 2 == 0 ? p.i : p.r;
		assert_int_equal(ikev1_input(to, o2.pkt, o2.len, &o1), 0);
		if (o1.float_4500)
			*(step % 2 == 0 ? &floated_i : &floated_r) = true;
		ikev1_out_clear(&o2);
		o2 = o1;
		memset(&o1, 0, sizeof(o1));
	}
	ikev1_out_clear(&o2);
	assert_true(floated_i);
	assert_true(floated_r);
	assert_true(ikev1_sa_natt(p.i));
	assert_true(ikev1_sa_natt(p.r));
	struct ikev1_child ci, cr;
	struct ikev1_out q1, q2, q3, done;
	assert_int_equal(ikev1_quick_start(p.i, &q1), 0);
	assert_int_equal(ikev1_input(p.r, q1.pkt, q1.len, &q2), 0);
	assert_int_equal(ikev1_input(p.i, q2.pkt, q2.len, &q3), 0);
	assert_int_equal(ikev1_input(p.r, q3.pkt, q3.len, &done), 0);
	ci = q3.child;
	cr = done.child;
	assert_true(ci.udp_encap);
	assert_true(cr.udp_encap);
	check_child(&ci, &cr);
	ikev1_out_clear(&q1);
	ikev1_out_clear(&q2);
	ikev1_out_clear(&q3);
	ikev1_out_clear(&done);
	pair_free(&p);
}

/* The message-ID list is kept for the life of the ISAKMP SA: once full,
 * nothing more is started or accepted (no replay can slip in). */
static void mid_list_full(void **state)
{
	struct pair p;
	struct ikev1_out u, ack, got;
	int n = 0, rc;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	main_mode(&p);
	/* each DPD round trip puts two IDs on each side's list */
	while ((rc = ikev1_dpd(p.i, &u)) == 0) {
		if (ikev1_input(p.r, u.pkt, u.len, &ack) == 0 && ack.pkt) {
			(void)ikev1_input(p.i, ack.pkt, ack.len, &got);
			ikev1_out_clear(&got);
		}
		ikev1_out_clear(&u);
		ikev1_out_clear(&ack);
		n++;
		assert_true(n <= IKEV1_MID_WINDOW);
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(n >= IKEV1_MID_WINDOW / 2 - 1);
	assert_int_equal(ikev1_quick_start(p.i, &u), -ENOSPC);
	/* the responder's list is full too: a fresh QM from it is refused */
	assert_int_equal(ikev1_quick_start(p.r, &u), -ENOSPC);
	pair_free(&p);
}

static void no_common_proposal(void **state)
{
	struct ikev1_conf ci, cr;
	struct ikev1_sa *i, *r = NULL;
	struct ikev1_out o1, o2;
	struct isakmp_msg m;

	(void)state;
	conf_init(&ci, true, "k", 0);
	conf_init(&cr, false, "k", 0);
	cr.p1[0].group = 15;
	cr.p1[1].group = 15;
	assert_int_equal(ikev1_sa_new_initiator(&ci, &i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&cr, &m, &r, &o2),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	assert_null(r);
	assert_null(o2.pkt);
	ikev1_out_clear(&o1);
	ikev1_sa_free(i);
}

/* Aggressive Mode (RFC 2409 §5.4): 3 messages with NAT-D (forced NAT)
 * and the float; message 2 retransmitted gets message 3 again. */
static void aggressive_mode(struct pair *p, bool natt)
{
	struct ikev1_out o1, o2, o3, x;
	struct isakmp_msg m;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct sockaddr_in b = a;

	a.sin_addr.s_addr = htonl(0xc6336401);
	b.sin_addr.s_addr = htonl(0xc6336402);
	p->ci.aggressive = p->ci.aggressive_initiate = true;
	p->cr.aggressive = true;
	if (natt) {
		p->ci.natt = p->cr.natt = true;
		p->cr.natt_force = true;
	}
	assert_int_equal(ikev1_sa_new_initiator(&p->ci, &p->i, &o1), 0);
	assert_int_equal(ikev1_sa_set_addrs(p->i, (struct sockaddr *)&a,
					    (struct sockaddr *)&b),
			 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(m.hdr.exch, ISAKMP_EXCH_AGGRESSIVE);
	assert_int_equal(
	    ikev1_sa_new_responder_at(&p->cr, &m, (struct sockaddr *)&b,
				      (struct sockaddr *)&a, &p->r, &o2),
	    0);
	assert_int_equal(ikev1_sa_state(p->r), IKEV1_AM_R2);
	assert_int_equal(ikev1_input(p->i, o2.pkt, o2.len, &o3), 0);
	assert_true(o3.established);
	assert_non_null(o3.pkt);
	assert_int_equal(o3.float_4500, natt);
	/* message 2 again (our message 3 was lost): message 3 again */
	assert_int_equal(ikev1_input(p->i, o2.pkt, o2.len, &x), 0);
	assert_int_equal(x.len, o3.len);
	assert_memory_equal(x.pkt, o3.pkt, o3.len);
	ikev1_out_clear(&x);
	/* message 3 with a flipped bit in the HASH_I block: dropped and
	 * counted, the IV unchanged */
	uint8_t *bad = malloc(o3.len);
	memcpy(bad, o3.pkt, o3.len);
	bad[28 + 16 + 2] ^= 1;
	assert_int_equal(ikev1_input(p->r, bad, o3.len, &x), -EACCES);
	assert_int_equal(ikev1_sa_stats(p->r)->auth_failed, 1);
	assert_false(x.established);
	free(bad);
	assert_int_equal(ikev1_input(p->r, o3.pkt, o3.len, &x), 0);
	assert_true(x.established);
	assert_null(x.pkt);
	assert_int_equal(x.float_4500, natt);
	assert_int_equal(ikev1_sa_state(p->i), IKEV1_ESTABLISHED);
	assert_int_equal(ikev1_sa_state(p->r), IKEV1_ESTABLISHED);
	assert_int_equal(ikev1_sa_natt(p->i), natt);
	assert_int_equal(ikev1_sa_natt(p->r), natt);
	const struct ikev1_keys *ki = ikev1_sa_keys(p->i);
	const struct ikev1_keys *kr = ikev1_sa_keys(p->r);
	assert_memory_equal(ki->skeyid_d, kr->skeyid_d, ki->hlen);
	assert_memory_equal(ki->iv, kr->iv, ki->block);
	ikev1_out_clear(&o1);
	ikev1_out_clear(&o2);
	ikev1_out_clear(&o3);
	ikev1_out_clear(&x);
}

static void am_qm_pfs(void **state)
{
	struct pair p;
	struct ikev1_child a, b;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 14);
	conf_init(&p.cr, false, "s3cret-psk", 14);
	aggressive_mode(&p, false);
	quick_mode(&p, &a, &b);
	assert_true(a.pfs);
	pair_free(&p);
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	aggressive_mode(&p, true);
	quick_mode(&p, &a, &b);
	assert_true(a.udp_encap);
	assert_true(b.udp_encap);
	pair_free(&p);
}

/* Refused unless configured: neither role starts it by itself; a
 * responder without the flag keeps no state and answers nothing. */
static void am_refused(void **state)
{
	struct ikev1_conf ci, cr;
	struct ikev1_sa *i = NULL, *r = NULL;
	struct ikev1_out o1, o2;
	struct isakmp_msg m;

	(void)state;
	conf_init(&ci, true, "k", 0);
	conf_init(&cr, false, "k", 0);
	ci.aggressive_initiate = true;
	assert_int_equal(ikev1_sa_new_initiator(&ci, &i, &o1), -EPERM);
	assert_null(i);
	ci.aggressive = true;
	assert_int_equal(ikev1_sa_new_initiator(&ci, &i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&cr, &m, &r, &o2),
			 ISAKMP_N_INVALID_EXCHANGE_TYPE);
	assert_null(r);
	assert_null(o2.pkt);
	/* allowed, but the PSK differs: message 2 fails HASH_R at the
	 * initiator, which stays where it was */
	cr.aggressive = true;
	cr.psk = (const uint8_t *)"other";
	cr.psk_len = 5;
	assert_int_equal(ikev1_sa_new_responder(&cr, &m, &r, &o2), 0);
	struct ikev1_out o3;
	assert_int_equal(ikev1_input(i, o2.pkt, o2.len, &o3), -EACCES);
	assert_null(o3.pkt);
	assert_int_equal(ikev1_sa_state(i), IKEV1_AM_I1);
	assert_int_equal(ikev1_sa_stats(i)->auth_failed, 1);
	/* a responder with another group than the initiator's KE */
	ikev1_sa_free(r);
	r = NULL;
	ikev1_out_clear(&o2);
	cr.psk = (const uint8_t *)"k";
	cr.psk_len = 1;
	cr.p1[0].group = cr.p1[1].group = 15;
	assert_int_equal(ikev1_sa_new_responder(&cr, &m, &r, &o2),
			 ISAKMP_N_NO_PROPOSAL_CHOSEN);
	assert_null(r);
	ikev1_out_clear(&o1);
	ikev1_sa_free(i);
}

/* Phase 2 rekey (a new Quick Mode naming the SA it replaces, then the
 * Delete of the old one), RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) and
 * INITIAL-CONTACT (§4.6.3.3) in Main and Aggressive Mode; Phase 1
 * re-authentication: a new ISAKMP SA, then the old one deleted. */
static void rekey_lifetimes_initial_contact(void **state)
{
	struct pair p, p2;
	struct ikev1_child a, b, a2, b2;
	struct ikev1_out q1, q2, q3, done, d, r;

	(void)state;
	conf_init(&p.ci, true, "s3cret-psk", 14);
	conf_init(&p.cr, false, "s3cret-psk", 14);
	p.ci.initial_contact = true;
	/* the responder's lifetime is shorter than the 3600 s offered */
	for (unsigned k = 0; k < p.cr.n_p2; k++)
		p.cr.p2[k].life_sec = 600;
	{
		/* main_mode() by hand, to see INITIAL-CONTACT at message 5 */
		struct ikev1_out o1, o2;
		struct isakmp_msg m;
		bool ic_r = false, ic_i = false;

		assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
		assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
		assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2),
				 0);
		ikev1_out_clear(&o1);
		for (int step = 0; step < 5; step++) {
			struct ikev1_sa *to = step % 2 == 0 ? p.i : p.r;
			assert_int_equal(ikev1_input(to, o2.pkt, o2.len, &o1),
					 0);
			if (o1.initial_contact)
				*(to == p.r ? &ic_r : &ic_i) = true;
			ikev1_out_clear(&o2);
			o2 = o1;
			memset(&o1, 0, sizeof(o1));
		}
		ikev1_out_clear(&o2);
		assert_true(ic_r);  /* the responder saw the initiator's */
		assert_false(ic_i); /* the responder sent none */
	}
	quick_mode(&p, &a, &b);
	/* RESPONDER-LIFETIME: both sides use 600 s */
	assert_int_equal(b.life_sec, 600);
	assert_int_equal(a.life_sec, 600);
	assert_true(a.soft_sec >= 600 - 60 - 31 && a.soft_sec <= 540);
	assert_int_equal(b.soft_sec, 0); /* the initiator rekeys */
	assert_int_equal(a.replaces, 0);
	/* Phase 2 rekey */
	assert_int_equal(ikev1_quick_rekey(p.i, 0, &q1), -EINVAL);
	assert_int_equal(ikev1_quick_rekey(p.i, a.spi_in, &q1), 0);
	assert_int_equal(ikev1_input(p.r, q1.pkt, q1.len, &q2), 0);
	assert_int_equal(ikev1_input(p.i, q2.pkt, q2.len, &q3), 0);
	assert_int_equal(ikev1_input(p.r, q3.pkt, q3.len, &done), 0);
	a2 = q3.child;
	b2 = done.child;
	check_child(&a2, &b2);
	assert_int_equal(a2.replaces, a.spi_in);
	assert_int_not_equal(a2.spi_in, a.spi_in);
	ikev1_out_clear(&q1);
	ikev1_out_clear(&q2);
	ikev1_out_clear(&q3);
	ikev1_out_clear(&done);
	/* ... then the old one goes */
	assert_int_equal(ikev1_delete(p.i, a.spi_in, &d), 0);
	assert_int_equal(ikev1_input(p.r, d.pkt, d.len, &r), 0);
	assert_int_equal(r.deleted_proto, ISAKMP_PROTO_ESP);
	assert_int_equal(r.deleted_spi, b.spi_out);
	ikev1_out_clear(&d);
	ikev1_out_clear(&r);
	/* Phase 1 re-authentication: a new ISAKMP SA (no INITIAL-CONTACT
	 * this time), a Quick Mode on it, then the old SA deleted */
	p2.ci = p.ci;
	p2.cr = p.cr;
	p2.ci.initial_contact = false;
	main_mode(&p2);
	quick_mode(&p2, &a2, &b2);
	assert_int_equal(ikev1_delete(p.i, 0, &d), 0);
	assert_int_equal(ikev1_input(p.r, d.pkt, d.len, &r), 0);
	assert_int_equal(r.deleted_proto, ISAKMP_PROTO_ISAKMP);
	assert_int_equal(ikev1_sa_state(p.r), IKEV1_DEAD);
	assert_int_equal(ikev1_sa_state(p2.r), IKEV1_ESTABLISHED);
	ikev1_out_clear(&d);
	ikev1_out_clear(&r);
	pair_free(&p);
	pair_free(&p2);

	/* Aggressive Mode: INITIAL-CONTACT in the encrypted message 3 */
	conf_init(&p.ci, true, "s3cret-psk", 0);
	conf_init(&p.cr, false, "s3cret-psk", 0);
	p.ci.initial_contact = true;
	{
		struct ikev1_out o1, o2, o3, x;
		struct isakmp_msg m;

		p.ci.aggressive = p.ci.aggressive_initiate = true;
		p.cr.aggressive = true;
		assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
		assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
		assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2),
				 0);
		assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o3), 0);
		assert_false(o3.initial_contact);
		assert_int_equal(ikev1_input(p.r, o3.pkt, o3.len, &x), 0);
		assert_true(x.established);
		assert_true(x.initial_contact);
		ikev1_out_clear(&o1);
		ikev1_out_clear(&o2);
		ikev1_out_clear(&o3);
		ikev1_out_clear(&x);
	}
	pair_free(&p);
}

/* ---- Main Mode with signatures (RFC 2409 §5.1, RFC 4754) ---- */

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, bool is_ca, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *e;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (san) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) >
		    0);
	return x;
}

struct pki {
	EVP_PKEY *k_ca, *k_other, *k_a, *k_b;
	X509 *ca, *other, *a, *b;
	STACK_OF(X509) * trust_a, *trust_b;
};

static void pki_make(struct pki *k, const char *alg, const char *param,
		     bool via_ca)
{
	memset(k, 0, sizeof(*k));
	k->k_ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k->k_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!strcmp(alg, "RSA")) {
		k->k_a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		k->k_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	} else {
		k->k_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
		k->k_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	}
	assert_true(k->k_ca && k->k_other && k->k_a && k->k_b);
	k->ca = make_cert(k->k_ca, "v1 test CA", NULL, NULL, true, NULL);
	k->other = make_cert(k->k_other, "other CA", NULL, NULL, true, NULL);
	k->a = make_cert(k->k_a, "a", via_ca ? k->ca : NULL,
			 via_ca ? k->k_ca : NULL, false, "DNS:a.example");
	k->b = make_cert(k->k_b, "b", via_ca ? k->ca : NULL,
			 via_ca ? k->k_ca : NULL, false, "DNS:b.example");
	k->trust_a = sk_X509_new_null();
	k->trust_b = sk_X509_new_null();
	/* a trusts b's certificate (CA or pinned), b trusts a's */
	sk_X509_push(k->trust_a, via_ca ? k->ca : k->b);
	sk_X509_push(k->trust_b, via_ca ? k->ca : k->a);
}

static void pki_free(struct pki *k)
{
	sk_X509_free(k->trust_a);
	sk_X509_free(k->trust_b);
	X509_free(k->ca);
	X509_free(k->other);
	X509_free(k->a);
	X509_free(k->b);
	EVP_PKEY_free(k->k_ca);
	EVP_PKEY_free(k->k_other);
	EVP_PKEY_free(k->k_a);
	EVP_PKEY_free(k->k_b);
}

static void conf_sig(struct ikev1_conf *c, bool left, uint16_t method,
		     struct pki *k)
{
	const char *me = left ? "a.example" : "b.example";
	const char *peer = left ? "b.example" : "a.example";

	conf_init(c, left, "", 14);
	c->psk = NULL;
	c->psk_len = 0;
	c->auth_method = method;
	c->id_type = ISAKMP_ID_FQDN;
	c->id_len = strlen(me);
	memcpy(c->id, me, c->id_len);
	c->peer_id_type = ISAKMP_ID_FQDN;
	c->peer_id_len = strlen(peer);
	memcpy(c->peer_id, peer, c->peer_id_len);
	c->cert = left ? k->a : k->b;
	c->key = left ? k->k_a : k->k_b;
	c->peer_certs = left ? k->trust_a : k->trust_b;
	c->verify_id = true;
	c->send_certreq = true;
}

static void mm_sig_case(uint16_t method, const char *alg, const char *param,
			bool via_ca, bool responder_sends_cert)
{
	struct pki k;
	struct pair p;
	struct ikev1_child a, b;

	pki_make(&k, alg, param, via_ca);
	conf_sig(&p.ci, true, method, &k);
	conf_sig(&p.cr, false, method, &k);
	if (!responder_sends_cert)
		p.cr.cert = NULL; /* a has b's pinned certificate */
	main_mode(&p);
	assert_int_equal(ikev1_sa_stats(p.i)->auth_failed, 0);
	quick_mode(&p, &a, &b);
	pair_free(&p);
	pki_free(&k);
}

static void mm_rsa_ca(void **state)
{
	(void)state;
	mm_sig_case(ISAKMP_P1_AUTH_RSA_SIG, "RSA", NULL, true, true);
}

static void mm_ecdsa(void **state)
{
	(void)state;
	mm_sig_case(ISAKMP_P1_AUTH_ECDSA_256, "EC", "P-256", true, true);
	mm_sig_case(ISAKMP_P1_AUTH_ECDSA_384, "EC", "P-384", false, false);
	mm_sig_case(ISAKMP_P1_AUTH_ECDSA_521, "EC", "P-521", true, true);
}

/* Run Main Mode up to message 5 at the responder; returns its result. */
static int mm_to_5(struct pair *p)
{
	struct ikev1_out o1, o2;
	struct isakmp_msg m;
	int rc;

	assert_int_equal(ikev1_sa_new_initiator(&p->ci, &p->i, &o1), 0);
	assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
	assert_int_equal(ikev1_sa_new_responder(&p->cr, &m, &p->r, &o2), 0);
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p->i, o2.pkt, o2.len, &o1), 0); /* 3 */
	ikev1_out_clear(&o2);
	assert_int_equal(ikev1_input(p->r, o1.pkt, o1.len, &o2), 0); /* 4 */
	ikev1_out_clear(&o1);
	assert_int_equal(ikev1_input(p->i, o2.pkt, o2.len, &o1), 0); /* 5 */
	ikev1_out_clear(&o2);
	rc = ikev1_input(p->r, o1.pkt, o1.len, &o2);
	if (rc)
		assert_null(o2.pkt);
	ikev1_out_clear(&o1);
	ikev1_out_clear(&o2);
	return rc;
}

/* Refusals: an untrusted CA, an ID the certificate does not name, a
 * key that does not fit the method; each leaves the responder in MM_R4
 * with the failure counted. */
static void mm_sig_refused(void **state)
{
	struct pki k;
	struct pair p;

	(void)state;
	pki_make(&k, "EC", "P-256", true);
	/* the responder trusts another CA only */
	conf_sig(&p.ci, true, ISAKMP_P1_AUTH_ECDSA_256, &k);
	conf_sig(&p.cr, false, ISAKMP_P1_AUTH_ECDSA_256, &k);
	sk_X509_set(k.trust_b, 0, k.other);
	assert_int_equal(mm_to_5(&p), -EACCES);
	assert_int_equal(ikev1_sa_state(p.r), IKEV1_MM_R4);
	assert_int_equal(ikev1_sa_stats(p.r)->auth_failed, 1);
	pair_free(&p);
	sk_X509_set(k.trust_b, 0, k.ca);
	/* the initiator claims an ID its certificate does not carry */
	conf_sig(&p.ci, true, ISAKMP_P1_AUTH_ECDSA_256, &k);
	conf_sig(&p.cr, false, ISAKMP_P1_AUTH_ECDSA_256, &k);
	memcpy(p.ci.id, "c.example", 9);
	p.ci.id_len = 9;
	p.cr.peer_id_type = 0; /* any ID: only the certificate binds it */
	assert_int_equal(mm_to_5(&p), -EACCES);
	assert_int_equal(ikev1_sa_stats(p.r)->auth_failed, 1);
	pair_free(&p);
	/* the initiator signs with b's key under a's certificate */
	conf_sig(&p.ci, true, ISAKMP_P1_AUTH_ECDSA_256, &k);
	conf_sig(&p.cr, false, ISAKMP_P1_AUTH_ECDSA_256, &k);
	p.ci.key = k.k_b;
	assert_int_equal(mm_to_5(&p), -EACCES);
	assert_int_equal(ikev1_sa_stats(p.r)->auth_failed, 1);
	pair_free(&p);
	/* ECDSA-384 configured, the key is P-256: nothing is signed */
	conf_sig(&p.ci, true, ISAKMP_P1_AUTH_ECDSA_384, &k);
	conf_sig(&p.cr, false, ISAKMP_P1_AUTH_ECDSA_384, &k);
	{
		struct ikev1_out o1, o2, o3;
		struct isakmp_msg m;

		assert_int_equal(ikev1_sa_new_initiator(&p.ci, &p.i, &o1), 0);
		assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
		assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &p.r, &o2),
				 0);
		ikev1_out_clear(&o1);
		assert_int_equal(ikev1_input(p.i, o2.pkt, o2.len, &o3), 0);
		ikev1_out_clear(&o2);
		assert_int_equal(ikev1_input(p.r, o3.pkt, o3.len, &o2), 0);
		assert_true(ikev1_input(p.i, o2.pkt, o2.len, &o1) < 0);
		assert_null(o1.pkt);
		ikev1_out_clear(&o2);
		ikev1_out_clear(&o3);
	}
	pair_free(&p);
	/* a PSK initiator and a signature responder: no proposal */
	{
		struct ikev1_conf ci;
		struct ikev1_out o1, o2;
		struct isakmp_msg m;
		struct ikev1_sa *i, *r = NULL;

		conf_init(&ci, true, "k", 14);
		conf_sig(&p.cr, false, ISAKMP_P1_AUTH_RSA_SIG, &k);
		assert_int_equal(ikev1_sa_new_initiator(&ci, &i, &o1), 0);
		assert_int_equal(isakmp_msg_parse(o1.pkt, o1.len, &m), 0);
		assert_int_equal(ikev1_sa_new_responder(&p.cr, &m, &r, &o2),
				 ISAKMP_N_NO_PROPOSAL_CHOSEN);
		assert_null(r);
		ikev1_out_clear(&o1);
		ikev1_sa_free(i);
	}
	pki_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mm_qm_no_pfs),
	    cmocka_unit_test(mm_qm_pfs_and_delete),
	    cmocka_unit_test(qm_bundles),
	    cmocka_unit_test(wrong_psk),
	    cmocka_unit_test(tamper_and_retransmit),
	    cmocka_unit_test(natt_forced),
	    cmocka_unit_test(mid_list_full),
	    cmocka_unit_test(no_common_proposal),
	    cmocka_unit_test(am_qm_pfs),
	    cmocka_unit_test(am_refused),
	    cmocka_unit_test(mm_rsa_ca),
	    cmocka_unit_test(mm_ecdsa),
	    cmocka_unit_test(mm_sig_refused),
	    cmocka_unit_test(rekey_lifetimes_initial_contact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
