/*
 * gen_corpus.c - writes the seed corpus of the ike fuzz harness
 * (tests/corpus/ike/): valid messages of each exchange, SK-protected ones
 * sealed with the harness's fixed keys, and raw inner chains.
 * Usage: gen-ike-corpus DIR.  Not a test; run by hand when the codec
 * grows new payloads, and commit the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/codec/ikev2.h"

static const char *dir;

static void save(const char *name, uint8_t mode, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(p, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void sk_keys(struct ikev2_sk_ctx *sk, uint16_t encr, uint16_t bits,
		    uint16_t integ)
{
	uint8_t ek[CRYPTO_MAX_KEY], ak[CRYPTO_MAX_KEY];
	const struct crypto_integ_alg *ia = crypto_integ_lookup(integ);

	for (size_t i = 0; i < sizeof(ek); i++) {
		ek[i] = (uint8_t)(i + 1);
		ak[i] = (uint8_t)(0x80 + i);
	}
	if (ikev2_sk_init(sk, encr, integ, ek,
			  crypto_encr_keymat_len(encr, bits), ak,
			  ia ? ia->key_len : 0, true))
		exit(1);
}

static void prefs(struct ikev2_prefs *p, uint8_t proto)
{
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	p->n_encr = 2;
	p->encr[0].id = IKEV2_ENCR_AES_GCM_16;
	p->encr[1].id = IKEV2_ENCR_AES_CBC;
	p->encr[1].keybits = 128;
	if (proto == IKEV2_PROTO_IKE) {
		p->n_prf = 1;
		p->prf[0] = IKEV2_PRF_HMAC_SHA2_256;
	}
	p->n_integ = 1;
	p->integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	p->n_dh = 2;
	p->dh[0] = IKEV2_DH_MODP2048;
	p->dh[1] = IKEV2_DH_CURVE25519;
}

/* Payload sets; `what` selects which. */
static void payloads(struct ikev2_wr *b, int what)
{
	static uint8_t nonce[32], ke[32], natd[20];
	uint8_t spi4[4] = {0xc0, 0, 0, 1}, a4[4] = {198, 51, 100, 2};
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct ikev2_prefs p;
	struct ikev2_sa sa;
	struct ikev2_ts_list ts;
	struct ikev2_id id = {.type = IKEV2_ID_IPV4_ADDR, .data = a4, .len = 4};
	struct ikev2_cp cp = {.type = IKEV2_CFG_REQUEST, .nattr = 1};
	struct ikev2_notify rekey = {.proto = IKEV2_PROTO_ESP,
				     .spi_len = 4,
				     .spi = spi4,
				     .type = IKEV2_N_REKEY_SA};
	struct ikev2_delete d = {
	    .proto = IKEV2_PROTO_ESP, .spi_len = 4, .nspi = 1, .spis = spi4};
	struct ikev2_delete dike = {.proto = IKEV2_PROTO_IKE};
	struct ikev2_cert cert = {.encoding = 4, .data = natd, .len = 20};
	uint8_t eap[9] = {2, 7, 0, 9, 1, 'u', 's', 'e', 'r'};
	uint8_t auth[32];

	memset(nonce, 0x4e, sizeof(nonce));
	memset(ke, 0x6b, sizeof(ke));
	memset(natd, 0x9d, sizeof(natd));
	memset(auth, 0xa7, sizeof(auth));
	cp.attr[0].type = 1;
	switch (what) {
	case 0: /* IKE_SA_INIT request */
		prefs(&p, IKEV2_PROTO_IKE);
		ikev2_sa_build(&p, NULL, 0, &sa);
		ikev2_put_sa(b, &sa);
		ikev2_put_ke(b, IKEV2_DH_CURVE25519, ke, 32);
		ikev2_put_nonce(b, nonce, 32);
		ikev2_put_notify_simple(b, IKEV2_N_NAT_DETECTION_SOURCE_IP,
					natd, 20);
		ikev2_put_notify_simple(b, IKEV2_N_NAT_DETECTION_DESTINATION_IP,
					natd, 20);
		ikev2_put_cert(b, IKEV2_PL_CERTREQ, &cert);
		ikev2_put_vendor(b, "racoon2", 7);
		break;
	case 1: /* IKE_AUTH request */
		ikev2_put_id(b, IKEV2_PL_IDi, &id);
		ikev2_put_cert(b, IKEV2_PL_CERT, &cert);
		ikev2_put_notify_simple(b, IKEV2_N_INITIAL_CONTACT, NULL, 0);
		ikev2_put_auth(b, IKEV2_AUTH_PSK, auth, 32);
		ikev2_put_cp(b, &cp);
		prefs(&p, IKEV2_PROTO_ESP);
		p.n_dh = 0;
		ikev2_sa_build(&p, spi4, 4, &sa);
		ikev2_put_sa(b, &sa);
		ts.n = 2;
		ikev2_ts_from_prefix(&ts.ts[0], AF_INET, a4, 32, 6, 80);
		ikev2_ts_from_prefix(&ts.ts[1], AF_INET, a4, 24, 0, 0);
		ikev2_put_ts(b, IKEV2_PL_TSi, &ts);
		ts.n = 1;
		ikev2_ts_from_prefix(&ts.ts[0], AF_INET6, a6, 64, 0, 0);
		ikev2_put_ts(b, IKEV2_PL_TSr, &ts);
		break;
	case 2: /* CREATE_CHILD_SA rekey request with PFS */
		ikev2_put_notify(b, &rekey);
		prefs(&p, IKEV2_PROTO_ESP);
		ikev2_sa_build(&p, spi4, 4, &sa);
		ikev2_put_sa(b, &sa);
		ikev2_put_nonce(b, nonce, 32);
		ikev2_put_ke(b, IKEV2_DH_CURVE25519, ke, 32);
		ts.n = 1;
		ikev2_ts_from_prefix(&ts.ts[0], AF_INET, a4, 24, 0, 0);
		ikev2_put_ts(b, IKEV2_PL_TSi, &ts);
		ikev2_put_ts(b, IKEV2_PL_TSr, &ts);
		break;
	case 3: /* INFORMATIONAL */
		ikev2_put_delete(b, &d);
		ikev2_put_delete(b, &dike);
		ikev2_put_notify_simple(b, IKEV2_N_INVALID_SPI, spi4, 4);
		break;
	case 4: /* IKE_AUTH with EAP */
		ikev2_put_id(b, IKEV2_PL_IDi, &id);
		ikev2_put_raw(b, IKEV2_PL_EAP, false, eap, sizeof(eap));
		break;
	}
}

static void message(const char *name, uint8_t exch, uint8_t flags, int what,
		    struct ikev2_sk_ctx *sk)
{
	struct ikev2_hdr h = {.spi_i = 0x1122334455667788ull,
			      .spi_r = sk ? 0x99aabbccddeeff00ull : 0,
			      .version = IKEV2_VERSION,
			      .exch = exch,
			      .flags = flags,
			      .msgid = sk ? 1 : 0};
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	ikev2_wr_begin(&b, &h);
	if (sk)
		ikev2_sk_begin(&b, sk);
	payloads(&b, what);
	if (sk)
		ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len))
		exit(1);
	save(name, 0, pkt, len);
	/* mode 1: the same payloads as a raw inner chain */
	if (what > 0) {
		char n2[64];
		uint8_t *raw;
		struct ikev2_hdr h2 = h;
		uint8_t *p2;
		size_t l2;

		ikev2_wr_begin(&b, &h2);
		payloads(&b, what);
		if (ikev2_wr_finish(&b, &p2, &l2))
			exit(1);
		raw = malloc(l2);
		raw[0] = exch;
		raw[1] = p2[16];
		memcpy(raw + 2, p2 + 28, l2 - 28);
		snprintf(n2, sizeof(n2), "inner-%s", name);
		save(n2, 1, raw, l2 - 26);
		free(raw);
		free(p2);
	}
	free(pkt);
}

int main(int argc, char **argv)
{
	struct ikev2_sk_ctx cbc, gcm;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	sk_keys(&cbc, IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128);
	sk_keys(&gcm, IKEV2_ENCR_AES_GCM_16, 128, 0);
	message("init-req", IKEV2_EXCH_IKE_SA_INIT, IKEV2_FLAG_INITIATOR, 0,
		NULL);
	message("auth-req-cbc", IKEV2_EXCH_IKE_AUTH, IKEV2_FLAG_INITIATOR, 1,
		&cbc);
	message("auth-req-gcm", IKEV2_EXCH_IKE_AUTH, IKEV2_FLAG_INITIATOR, 1,
		&gcm);
	message("ccsa-req-cbc", IKEV2_EXCH_CREATE_CHILD_SA,
		IKEV2_FLAG_INITIATOR, 2, &cbc);
	message("info-gcm", IKEV2_EXCH_INFORMATIONAL, IKEV2_FLAG_RESPONSE, 3,
		&gcm);
	message("auth-eap-cbc", IKEV2_EXCH_IKE_AUTH, IKEV2_FLAG_RESPONSE, 4,
		&cbc);
	ikev2_sk_free(&cbc);
	ikev2_sk_free(&gcm);
	return 0;
}
