/*
 * ike_fuzz.c - libFuzzer harness for the IKEv2 codec: message header and
 * payload chain parsing, every payload decoder, proposal selection, TS
 * narrowing, and SK decryption with fixed keys.
 *
 * Input: one mode octet, then
 *   mode even: a whole IKE message (as received from the network); SK is
 *     opened with fixed AES-CBC-128/HMAC-SHA2-256-128 and AES-GCM-16-128
 *     keys (the corpus holds messages sealed with them);
 *   mode odd: [exchange][first inner payload type][inner chain octets];
 *     the harness seals the chain under the fixed CBC key itself, so the
 *     inner parser is reached through a real decryption.
 * The harness owns everything it allocates and frees it per input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike/codec/ikev2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct keyset {
	struct ikev2_sk_ctx out, in;
	bool ready;
};

static struct keyset cbc, gcm;

/* The same fixed keys as tests/unit/ike and gen_corpus.c. */
static void keys_init(struct keyset *k, uint16_t encr, uint16_t bits,
		      uint16_t integ)
{
	uint8_t ek[CRYPTO_MAX_KEY], ak[CRYPTO_MAX_KEY];
	size_t el = crypto_encr_keymat_len(encr, bits);
	const struct crypto_integ_alg *ia = crypto_integ_lookup(integ);

	if (k->ready)
		return;
	for (size_t i = 0; i < sizeof(ek); i++) {
		ek[i] = (uint8_t)(i + 1);
		ak[i] = (uint8_t)(0x80 + i);
	}
	if (ikev2_sk_init(&k->out, encr, integ, ek, el, ak,
			  ia ? ia->key_len : 0, true) ||
	    ikev2_sk_init(&k->in, encr, integ, ek, el, ak, ia ? ia->key_len : 0,
			  false))
		abort();
	k->ready = true;
}

static void decode_all(const struct ike_msg *m)
{
	static struct ikev2_sa sa; /* large: keep off the stack */
	struct ikev2_prefs ike, esp;
	struct ikev2_ts_list ts, ours, out;
	struct ikev2_suite s;
	char sum[512];
	uint8_t a[4] = {198, 51, 100, 0};

	memset(&ike, 0, sizeof(ike));
	ike.proto = IKEV2_PROTO_IKE;
	ike.n_encr = 2;
	ike.encr[0].id = IKEV2_ENCR_AES_CBC;
	ike.encr[1].id = IKEV2_ENCR_AES_GCM_16;
	ike.n_prf = 1;
	ike.prf[0] = IKEV2_PRF_HMAC_SHA2_256;
	ike.n_integ = 1;
	ike.integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	ike.n_dh = 2;
	ike.dh[0] = IKEV2_DH_MODP2048;
	ike.dh[1] = IKEV2_DH_CURVE25519;
	esp = ike;
	esp.proto = IKEV2_PROTO_ESP;
	esp.n_dh = 0;
	ours.n = 1;
	ikev2_ts_from_prefix(&ours.ts[0], AF_INET, a, 24, 0, 0);

	for (unsigned i = 0; i < m->npl; i++) {
		const struct ikev2_pl *pl = &m->pl[i];
		union {
			struct ikev2_ke ke;
			struct ikev2_id id;
			struct ikev2_cert c;
			struct ikev2_auth au;
			struct ikev2_nonce no;
			struct ikev2_notify n;
			struct ikev2_delete d;
			struct ikev2_vendor v;
			struct ikev2_cp cp;
			struct ikev2_eap eap;
		} u;

		switch (pl->type) {
		case IKEV2_PL_SA:
			if (ikev2_get_sa(pl, &sa) == 0) {
				struct ikev2_sa reply;

				if (ikev2_sa_select(&sa, &ike, 0, &s) == 0 &&
				    ikev2_suite_to_sa(&s, NULL, 0, &reply) == 0)
					(void)ikev2_sa_check_reply(&sa, &reply,
								   &s);
				(void)ikev2_sa_select(&sa, &esp, 0, &s);
				(void)ikev2_sa_check_reply(&sa, &sa, &s);
			}
			break;
		case IKEV2_PL_TSi:
		case IKEV2_PL_TSr:
			if (ikev2_get_ts(pl, &ts) == 0) {
				struct ikev2_ts parts[8];

				(void)ikev2_ts_narrow(&ts, &ours, &out);
				(void)ikev2_ts_list_within(&ts, &ours);
				for (unsigned j = 0; j < ts.n; j++)
					(void)ikev2_ts_split(&ts.ts[j], parts,
							     8);
			}
			break;
		case IKEV2_PL_KE:
			(void)ikev2_get_ke(pl, &u.ke);
			break;
		case IKEV2_PL_IDi:
		case IKEV2_PL_IDr:
			(void)ikev2_get_id(pl, &u.id);
			break;
		case IKEV2_PL_CERT:
		case IKEV2_PL_CERTREQ:
			(void)ikev2_get_cert(pl, &u.c);
			break;
		case IKEV2_PL_AUTH:
			(void)ikev2_get_auth(pl, &u.au);
			break;
		case IKEV2_PL_NONCE:
			(void)ikev2_get_nonce(pl, &u.no);
			break;
		case IKEV2_PL_N:
			(void)ikev2_get_notify(pl, &u.n);
			break;
		case IKEV2_PL_D:
			(void)ikev2_get_delete(pl, &u.d);
			break;
		case IKEV2_PL_V:
			(void)ikev2_get_vendor(pl, &u.v);
			break;
		case IKEV2_PL_CP:
			(void)ikev2_get_cp(pl, &u.cp);
			break;
		case IKEV2_PL_EAP:
			(void)ikev2_get_eap(pl, &u.eap);
			break;
		}
	}
	(void)ikev2_msg_find_notify(m, IKEV2_N_COOKIE, NULL);
	(void)ikev2_msg_summary(m, sum, sizeof(sum));
}

static void run_message(const uint8_t *buf, size_t len)
{
	static struct ike_msg m;
	static uint8_t plain[IKEV2_MAX_MSG];
	struct keyset *ks[2] = {&cbc, &gcm};

	for (int k = 0; k < 2; k++) {
		int rc = ikev2_msg_parse(buf, len, &m);

		if (rc != 0)
			return;
		if (m.sk_index >= 0)
			(void)ikev2_sk_open(&ks[k]->in, &m, plain,
					    sizeof(plain));
		decode_all(&m);
		if (m.sk_index < 0)
			return;
	}
}

static void run_inner(const uint8_t *data, size_t size)
{
	struct ikev2_hdr h = {.spi_i = 1, .spi_r = 2, .version = 0x20};
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	if (size < 2)
		return;
	h.exch = data[0];
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &cbc.out);
	/* raw inner octets; SK's Next Payload names the first one */
	wr_patch_u8(&b.w, b.np_off, data[1]);
	wr_bytes(&b.w, data + 2, size - 2);
	ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len) == 0) {
		run_message(pkt, len);
		free(pkt);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_init(&cbc, IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128);
	keys_init(&gcm, IKEV2_ENCR_AES_GCM_16, 128, 0);
	if (size < 1 || size > IKEV2_MAX_MSG)
		return 0;
	if (data[0] & 1)
		run_inner(data + 1, size - 1);
	else
		run_message(data + 1, size - 1);
	return 0;
}
