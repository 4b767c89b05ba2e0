/*
 * kink_krbtest.c - src/kink/krb.c against a real MIT KDC (started by
 * kink_krb.sh): AP_REQ/AP_REP with mutual authentication, KINK_ENCRYPT
 * (usage 39) and Cksum (usage 40) both ways, a tampered Cksum, a
 * replayed AP_REQ, clock skew answered by KRB-ERROR and recovered, and
 * a whole CREATE message built and checked through the codec; with
 * CCACHE, User-to-User (RFC 4430 §4.3) against a responder that has no
 * keytab, only the TGT kinit left in CCACHE.
 * Usage: kink-krbtest INITIATOR RESPONDER [CCACHE] (keytab from
 * KRB5_KTNAME).
 * Prints PASS:/FAIL: lines; exit 1 on any failure.
 */
#include <krb5/krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kink/kink_msg.h"
#include "kink/krb.h"

static int fails;

#define CHECK(cond, what)                                                      \
	do {                                                                   \
		if (cond)                                                      \
			printf("PASS: %s\n", what);                            \
		else {                                                         \
			printf("FAIL: %s (line %d)\n", what, __LINE__);        \
			fails++;                                               \
		}                                                              \
	} while (0)

static int enc_cb(void *ctx, const uint8_t *in, size_t n, uint8_t **o,
		  size_t *on)
{
	return kink_auth_encrypt(ctx, in, n, o, on);
}

static int mic_cb(void *ctx, const uint8_t *in, size_t n, uint8_t **o,
		  size_t *on)
{
	return kink_auth_mic(ctx, in, n, o, on);
}

/* RFC 4430 §4.3: the responder has no keytab entry, only its TGT */
static void u2u(struct kink_krb *ki, const char *me, const char *peer,
		const char *ccache)
{
	struct kink_krb *ku;
	struct kink_auth *ai = NULL, *au = NULL;
	uint8_t *req, *rep, *tgt, *own;
	size_t req_len, rep_len, tgt_len, own_len;
	char client[256];
	int err;

	setenv("KRB5_KTNAME", "FILE:/nonexistent/kink.keytab", 1);
	setenv("KRB5CCNAME", ccache, 1);
	err = kink_krb_new(&ku, peer);
	CHECK(!err && kink_krb_is_u2u(ku),
	      "u2u: responder without keytab uses its ccache TGT");
	if (err)
		return;
	/* a ticket in its long-term key: it cannot read it */
	err = kink_krb_mk_req(ki, peer, &ai, &req, &req_len);
	if (!err) {
		err = kink_krb_rd_req(ku, req, req_len, &au, NULL, 0);
		CHECK(err && kink_krb_code(err) ==
				 KRB5KRB_AP_ERR_USER_TO_USER_REQUIRED,
		      "u2u: ordinary AP_REQ answered USER_TO_USER_REQUIRED");
		kink_auth_free(ai);
		free(req);
	}
	err = kink_krb_my_tgt(ku, &tgt, &tgt_len);
	CHECK(!err && tgt_len > 100, "u2u: responder's TGT (KINK_TGT_REP)");
	if (err)
		goto out;
	err = kink_krb_mk_req_u2u(ki, peer, tgt, tgt_len, &ai, &req, &req_len);
	if (err)
		printf("# mk_req_u2u: %s\n", kink_krb_strerror(ki, err));
	CHECK(!err, "u2u: ENC-TKT-IN-SKEY ticket from the KDC, AP_REQ");
	if (!err) {
		err = kink_krb_rd_req(ku, req, req_len, &au, client,
				      sizeof(client));
		if (err)
			printf("# rd_req u2u: %s\n",
			       kink_krb_strerror(ku, err));
		CHECK(!err && !strcmp(client, me),
		      "u2u: responder reads it with its TGT session key");
		if (!err) {
			uint8_t k1[32], k2[32];
			err = kink_krb_mk_rep(ku, au, &rep, &rep_len);
			CHECK(!err && !kink_krb_rd_rep(ki, ai, rep, rep_len),
			      "u2u: mutual authentication");
			if (!err)
				free(rep);
			CHECK(!kink_auth_prf_plus(ai, (const uint8_t *)"s", 1,
						  k1, sizeof(k1)) &&
				  !kink_auth_prf_plus(au, (const uint8_t *)"s",
						      1, k2, sizeof(k2)) &&
				  !memcmp(k1, k2, sizeof(k1)),
			      "u2u: same session key on both sides");
			kink_auth_free(au);
		}
		kink_auth_free(ai);
		free(req);
	}
	/* a TGT of another principal: the KDC must refuse (its client is
	 * not the server named) */
	err = kink_krb_my_tgt(ki, &own, &own_len);
	if (!err) {
		err = kink_krb_mk_req_u2u(ki, peer, own, own_len, &ai, &req,
					  &req_len);
		CHECK(err, "u2u: a TGT of another principal is refused");
		if (!err) {
			kink_auth_free(ai);
			free(req);
		}
		free(own);
	}
	free(tgt);
out:
	kink_krb_free(ku);
}

int main(int argc, char **argv)
{
	struct kink_krb *ki, *kr;
	struct kink_auth *ai = NULL, *ar = NULL, *ar2 = NULL;
	uint8_t *req, *rep, *ct, *pt, *mic, *msg;
	size_t req_len, rep_len, ct_len, pt_len, mic_len, msg_len;
	char client[256];
	int err;

	if (argc != 3 && argc != 4)
		return 2;
	err = kink_krb_new(&ki, argv[1]);
	CHECK(!err, "initiator context");
	err = kink_krb_new(&kr, argv[2]);
	CHECK(!err, "responder context");
	if (fails)
		return 1;

	err = kink_krb_mk_req(ki, argv[2], &ai, &req, &req_len);
	if (err)
		printf("# mk_req: %s\n", kink_krb_strerror(ki, err));
	CHECK(!err, "TGT from keytab, service ticket, AP_REQ");
	if (err)
		return 1;
	err = kink_krb_rd_req(kr, req, req_len, &ar, client, sizeof(client));
	if (err)
		printf("# rd_req: %s\n", kink_krb_strerror(kr, err));
	CHECK(!err && !strcmp(client, argv[1]), "responder accepts AP_REQ");
	if (err)
		return 1;
	err = kink_krb_mk_rep(kr, ar, &rep, &rep_len);
	CHECK(!err, "AP_REP");
	err = kink_krb_rd_rep(ki, ai, rep, rep_len);
	CHECK(!err, "mutual authentication (rd_rep)");

	/* replay of the same AP_REQ (RFC 4120 §3.2.3) */
	err = kink_krb_rd_req(kr, req, req_len, &ar2, NULL, 0);
	CHECK(err && kink_krb_code(err) == KRB5KRB_AP_ERR_REPEAT,
	      "replayed AP_REQ refused (KRB_AP_ERR_REPEAT)");
	if (!err)
		kink_auth_free(ar2);

	/* usage 39 both ways */
	err = kink_auth_encrypt(ai, (const uint8_t *)"quick mode", 10, &ct,
				&ct_len);
	CHECK(!err && ct_len > 10, "encrypt (usage 39)");
	err = kink_auth_decrypt(ar, ct, ct_len, &pt, &pt_len);
	CHECK(!err && pt_len == 10 && !memcmp(pt, "quick mode", 10),
	      "peer decrypts");
	free(pt);
	ct[ct_len - 1] ^= 1;
	err = kink_auth_decrypt(ar, ct, ct_len, &pt, &pt_len);
	CHECK(err, "tampered ciphertext refused");
	free(ct);

	/* usage 40 */
	err = kink_auth_mic(ar, (const uint8_t *)"message", 7, &mic, &mic_len);
	CHECK(!err && mic_len >= 12, "get_mic (usage 40)");
	CHECK(!kink_auth_verify_mic(ai, (const uint8_t *)"message", 7, mic,
				    mic_len),
	      "peer verifies the Cksum");
	mic[0] ^= 0x80;
	CHECK(kink_auth_verify_mic(ai, (const uint8_t *)"message", 7, mic,
				   mic_len),
	      "tampered Cksum refused");
	free(mic);

	/* prf+ equal on both sides, and longer than one PRF block */
	{
		uint8_t k1[80], k2[80];
		CHECK(!kink_auth_prf_plus(ai, (const uint8_t *)"seed", 4, k1,
					  sizeof(k1)) &&
			  !kink_auth_prf_plus(ar, (const uint8_t *)"seed", 4,
					      k2, sizeof(k2)) &&
			  !memcmp(k1, k2, sizeof(k1)) &&
			  memcmp(k1, k1 + 16, 16),
		      "prf+ agrees (80 octets)");
	}

	/* a whole CREATE through the codec, checked by the responder */
	{
		struct kink_wr w;
		struct kink_msg m;
		uint8_t *cin, *plain;
		size_t cin_len, plain_len;

		kink_wr_begin(&w, KINK_TYPE_CREATE, 42, false);
		kink_wr_ap_req(&w, 1, req, req_len);
		kink_wr_encrypt_begin(&w);
		kink_wr_isakmp(&w, 10,
			       "\0\0\0\x0c"
			       "12345678",
			       12);
		err = kink_wr_encrypt_end(&w, enc_cb, ai);
		if (!err)
			err = kink_wr_finish(&w, mic_cb, ai, &msg, &msg_len);
		CHECK(!err, "CREATE built with KINK_ENCRYPT and Cksum");
		err = kink_msg_parse(msg, msg_len, &m) ||
		      kink_msg_cksum_input(msg, &m, &cin, &cin_len);
		CHECK(!err && !kink_auth_verify_mic(ar, cin, cin_len, m.cksum.p,
						    m.cksum.len),
		      "CREATE Cksum verifies");
		free(cin);
		err = kink_auth_decrypt(ar, m.encrypt.p, m.encrypt.len, &plain,
					&plain_len);
		CHECK(!err && !kink_msg_parse_inner(plain, plain_len, &m) &&
			  kink_has(&m, KINK_PL_ISAKMP) && m.isakmp.len == 12,
		      "KINK_ENCRYPT decrypts to KINK_ISAKMP");
		free(plain);
		msg[20] ^= 1; /* inside the AP_REQ, covered by the Cksum */
		kink_msg_parse(msg, msg_len, &m);
		kink_msg_cksum_input(msg, &m, &cin, &cin_len);
		CHECK(kink_auth_verify_mic(ar, cin, cin_len, m.cksum.p,
					   m.cksum.len),
		      "modified CREATE fails its Cksum");
		free(cin);
		free(msg);
	}
	kink_auth_free(ai);
	kink_auth_free(ar);
	free(req);
	free(rep);

	/* clock skew: the initiator runs an hour ahead */
	{
		krb5_context c;
		uint8_t *kerrp;
		size_t kerr_len;
		long code = 0;
		time_t stime = 0;

		krb5_init_context(&c);
		kink_krb_set_time(ki, time(NULL) + 3600);
		krb5_free_context(c);
		err = kink_krb_mk_req(ki, argv[2], &ai, &req, &req_len);
		CHECK(!err, "AP_REQ with a skewed clock");
		err = kink_krb_rd_req(kr, req, req_len, &ar, NULL, 0);
		CHECK(err && kink_krb_code(err) == KRB5KRB_AP_ERR_SKEW,
		      "responder: KRB_AP_ERR_SKEW");
		free(req);
		kink_auth_free(ai);
		err = kink_krb_mk_error(kr, err, &kerrp, &kerr_len);
		CHECK(!err, "KRB-ERROR built");
		err = kink_krb_rd_error(ki, kerrp, kerr_len, &code, &stime);
		CHECK(!err && code == KRB5KRB_AP_ERR_SKEW &&
			  labs((long)(stime - time(NULL))) < 5,
		      "initiator reads SKEW and the server time");
		free(kerrp);
		kink_krb_set_time(ki, stime);
		err = kink_krb_mk_req(ki, argv[2], &ai, &req, &req_len);
		if (!err)
			err = kink_krb_rd_req(kr, req, req_len, &ar, NULL, 0);
		CHECK(!err, "retry with the corrected clock accepted");
		if (!err) {
			kink_auth_free(ar);
			kink_auth_free(ai);
			free(req);
		}
	}
	if (argc == 4)
		u2u(ki, argv[1], argv[2], argv[3]);
	kink_krb_free(ki);
	kink_krb_free(kr);
	return fails ? 1 : 0;
}
