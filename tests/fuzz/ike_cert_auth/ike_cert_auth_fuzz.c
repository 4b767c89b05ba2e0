/*
 * ike_cert_auth_fuzz.c - libFuzzer harness for certificate AUTH (RFC
 * 7296 §2.15, §3.6, §3.8; RFC 7427; RFC 4945): auth_cert_verify() on a
 * protected IKE_AUTH message whose CERT, CERTREQ, ID and AUTH payload
 * bodies come from the input, against a fixed trust store (the small
 * committed test PKI in pki/: a P-256 CA, a P-256 and an RSA-2048 end
 * entity naming peer.example / 198.51.100.2 / peer@example.com), plus
 * sig_algid_decode() (RFC 7427 AlgorithmIdentifier) and the DN helpers
 * on raw bytes.
 *
 * Input: byte 0 -- bits 0-1 what peers_public_key holds (0 the CA,
 * 1 the pinned P-256 certificate, 2 its bare public key, 3 the pinned
 * RSA certificate), bit 2 verify_id, bit 3 the peer is the original
 * initiator; byte 1 -- the peer's RFC 7427 hash bitmask; then records
 * [type u8][length u16][body]: 1 CERT, 2 AUTH, 3 ID (IDi or IDr, by
 * bit 3), 4 CERTREQ, 5 an AlgorithmIdentifier for sig_algid_decode()
 * and a DN for auth_cert_dn_str(); other types are ignored.
 *
 * Per input: the remote's certificate configuration is loaded and
 * freed, the IKE SA fixture (fixed IKE_SA_INIT octets, nonces, SK_p)
 * rebuilt; nothing survives an input.  Built with -DGEN_CORPUS the same
 * file is a seed writer (gen-ike-cert-auth-corpus DIR): valid AUTHs by
 * both test keys for each trust mode, which the fuzzer then mutates.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/sig.h"
#include "ike/auth_cert.h"
#include "ike/iked.h"
#include "lib/log.h"
#include "lib/wr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef PKI_DIR
#error PKI_DIR must name tests/fuzz/ike_cert_auth/pki
#endif

static const char *const peer_files[4] = {PKI_DIR "/ca.pem", PKI_DIR "/ee.pem",
					  PKI_DIR "/ee.pub",
					  PKI_DIR "/rsa.pem"};

/* The IKE SA the AUTH is verified on: fixed, so that seeds made by the
 * generator verify. */
static void fixture(struct ike_sa *sa, struct iked *d, bool peer_init)
{
	static uint8_t init_req[64], init_resp[64];
	static struct ike_sa_init in;

	memset(sa, 0, sizeof(*sa));
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < sizeof(init_req); i++) {
		init_req[i] = (uint8_t)i;
		init_resp[i] = (uint8_t)(0x80 | i);
	}
	sa->d = d;
	sa->initiator = !peer_init;
	sa->spi_i = 0x1111111111111111ull;
	sa->spi_r = 0x2222222222222222ull;
	sa->algs.prf = 5; /* PRF_HMAC_SHA2_256 */
	sa->keys.prf_len = 32;
	memset(&in, 0, sizeof(in));
	memset(in.sk_pi, 0xa5, 32);
	memset(in.sk_pr, 0x5a, 32);
	sa->init = &in;
	in.init_req = init_req;
	in.init_req_len = sizeof(init_req);
	in.init_resp = init_resp;
	in.init_resp_len = sizeof(init_resp);
	memset(in.ni, 0x11, 32);
	memset(in.nr, 0x22, 32);
	in.ni_len = in.nr_len = 32;
	snprintf(sa->remote, sizeof(sa->remote), "peer");
}

static int remote_setup(struct ike_remote *r, unsigned mode, bool verify_id,
			const char *cert, const char *key)
{
	struct auth_cert_params p;
	char err[256];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "peer");
	memset(&p, 0, sizeof(p));
	p.peer = peer_files[mode & 3];
	p.accept = true;
	p.verify_id = verify_id;
	p.cert = cert;
	p.key = key;
	p.sign = cert != NULL;
	p.send_cert = true;
	return auth_cert_setup(r, &p, err, sizeof(err));
}

/* The protected message: header + SK{payloads}, sealed and opened by
 * the codec with fixed keys, as ike_input() would see it. */
struct rec {
	uint8_t type;
	const uint8_t *p;
	uint16_t len;
};

static int build(bool peer_init, const struct rec *rs, unsigned n,
		 uint8_t **pkt, size_t *len)
{
	static const uint8_t ek[16] = {1}, ak[32] = {2};
	struct ikev2_sk_ctx sk;
	struct ikev2_hdr h;
	struct ikev2_wr b;
	int rc;

	memset(&h, 0, sizeof(h));
	h.spi_i = 0x1111111111111111ull;
	h.spi_r = 0x2222222222222222ull;
	h.version = IKEV2_VERSION;
	h.exch = IKEV2_EXCH_IKE_AUTH;
	h.flags = peer_init ? IKEV2_FLAG_INITIATOR : IKEV2_FLAG_RESPONSE;
	h.msgid = 1;
	if (ikev2_sk_init(&sk, 12, 12, ek, sizeof(ek), ak, sizeof(ak), true))
		return -EINVAL;
	rc = ikev2_wr_begin(&b, &h);
	if (rc == 0)
		rc = ikev2_sk_begin(&b, &sk);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		uint8_t t;

		switch (rs[i].type) {
		case 1:
			t = IKEV2_PL_CERT;
			break;
		case 2:
			t = IKEV2_PL_AUTH;
			break;
		case 3:
			t = peer_init ? IKEV2_PL_IDi : IKEV2_PL_IDr;
			break;
		case 4:
			t = IKEV2_PL_CERTREQ;
			break;
		default:
			continue;
		}
		rc = ikev2_put_raw(&b, t, false, rs[i].p, rs[i].len);
	}
	if (rc == 0)
		rc = ikev2_sk_end(&b);
	if (rc == 0)
		rc = ikev2_wr_finish(&b, pkt, len);
	else
		ikev2_wr_abort(&b);
	ikev2_sk_free(&sk);
	return rc;
}

static int open_msg(const uint8_t *pkt, size_t len, struct ike_msg *m,
		    uint8_t *plain)
{
	static const uint8_t ek[16] = {1}, ak[32] = {2};
	struct ikev2_sk_ctx sk;
	int rc;

	if (ikev2_sk_init(&sk, 12, 12, ek, sizeof(ek), ak, sizeof(ak), false))
		return -EINVAL;
	rc = ikev2_msg_parse(pkt, len, m);
	if (rc == 0)
		rc = ikev2_sk_open(&sk, m, plain, len);
	ikev2_sk_free(&sk);
	return rc;
}

/* 0 when the peer is authenticated, else nonzero. */
static int verify(unsigned mode, bool verify_id, bool peer_init,
		  uint32_t hashes, const struct rec *rs, unsigned n)
{
	struct ike_remote r;
	struct ike_sa sa;
	struct iked d;
	struct ike_msg *m = NULL;
	uint8_t *pkt = NULL, *plain = NULL;
	size_t len;
	const struct ikev2_pl *pl;
	struct ikev2_auth auth;
	struct ikev2_id id;
	char why[256];
	int rc = -1;

	if (remote_setup(&r, mode, verify_id, NULL, NULL) != 0)
		abort(); /* the committed PKI must load */
	fixture(&sa, &d, peer_init);
	sa.peer_sig_hashes = hashes;
	if (build(peer_init, rs, n, &pkt, &len) != 0)
		goto out;
	m = malloc(sizeof(*m));
	plain = malloc(len);
	if (!m || !plain || open_msg(pkt, len, m, plain) != 0)
		goto out;
	pl = ikev2_msg_find(m, peer_init ? IKEV2_PL_IDi : IKEV2_PL_IDr);
	if (!pl || ikev2_get_id(pl, &id) != 0 || id.len > CFG_ID_MAX)
		goto out;
	sa.id_peer.type = id.type;
	sa.id_peer.len = (uint16_t)id.len;
	memcpy(sa.id_peer.data, id.data, id.len);
	pl = ikev2_msg_find(m, IKEV2_PL_AUTH);
	if (!pl || ikev2_get_auth(pl, &auth) != 0)
		goto out;
	rc = auth_cert_verify(&sa, &r, m, &auth, peer_init, id.body,
			      id.body_len, why, sizeof(why));
out:
	free(plain);
	free(m);
	free(pkt);
	auth_cert_free(r.cert);
	return rc;
}

static int run(const uint8_t *data, size_t size)
{
	struct rec rs[16];
	unsigned n = 0;
	size_t i = 2;

	if (size < 2)
		return -1;
	while (i + 3 <= size && n < 16) {
		uint16_t l = (uint16_t)(data[i + 1] << 8 | data[i + 2]);

		if (l > size - i - 3)
			l = (uint16_t)(size - i - 3);
		rs[n].type = data[i];
		rs[n].p = data + i + 3;
		rs[n].len = l;
		if (rs[n].type == 5) { /* the building blocks directly */
			struct sig_alg a;
			struct ike_id dn;
			char buf[512];

			(void)sig_algid_decode(rs[n].p, l, &a);
			if (l <= CFG_ID_MAX) {
				memset(&dn, 0, sizeof(dn));
				dn.type = IKE_ID_DER_ASN1_DN;
				dn.len = l;
				memcpy(dn.data, rs[n].p, l);
				(void)auth_cert_dn_str(&dn, buf, sizeof(buf));
				(void)auth_cert_dn_eq(&dn, &dn);
			}
		}
		n++;
		i += 3 + (size_t)l;
	}
	return verify(data[0] & 3, data[0] & 4, data[0] & 8, data[1], rs, n);
}

#ifndef GEN_CORPUS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;

	if (!quiet) {
		log_init("fuzz", 0, LOG_LVL_ERR);
		quiet = true;
	}
	(void)run(data, size);
	return 0;
}

#else /* GEN_CORPUS: write seeds with valid signatures */

static size_t put_rec(uint8_t *o, uint8_t type, const uint8_t *p, size_t len)
{
	o[0] = type;
	o[1] = (uint8_t)(len >> 8);
	o[2] = (uint8_t)len;
	memcpy(o + 3, p, len);
	return 3 + len;
}

static void seed(const char *dir, const char *name, unsigned mode,
		 bool peer_init, uint32_t hashes, const char *cert,
		 const char *key, bool with_cert)
{
	struct ike_remote me;
	struct ike_sa sa;
	struct iked d;
	struct auth_sig sig;
	uint8_t out[8192], idb[64], certb[4096], authb[1024];
	size_t o = 0, idb_len, cl;
	char path[512];
	X509 *x;
	FILE *f;
	uint8_t *der = NULL;
	int dl;
	static const char fq[] = "peer.example";

	if (remote_setup(&me, 0, true, cert, key) != 0) {
		fprintf(stderr, "%s: cannot load %s\n", name, cert);
		exit(1);
	}
	fixture(&sa, &d, peer_init);
	/* We sign as the peer: our side is the peer's side. */
	sa.initiator = peer_init;
	sa.peer_sig_hashes = hashes;
	idb[0] = IKE_ID_FQDN;
	idb[1] = idb[2] = idb[3] = 0;
	memcpy(idb + 4, fq, sizeof(fq) - 1);
	idb_len = 4 + sizeof(fq) - 1;
	if (auth_cert_sign(&sa, &me, peer_init, idb, idb_len, &sig) != 0) {
		fprintf(stderr, "%s: cannot sign\n", name);
		exit(1);
	}
	out[o++] = (uint8_t)(mode | 4 | (peer_init ? 8 : 0));
	out[o++] = (uint8_t)hashes;
	o += put_rec(out + o, 3, idb, idb_len);
	if (with_cert) {
		f = fopen(cert, "r");
		x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		dl = x ? i2d_X509(x, &der) : -1;
		if (dl <= 0 || (size_t)dl + 1 > sizeof(certb))
			exit(1);
		certb[0] = 4; /* X.509 Certificate - Signature (§3.6) */
		memcpy(certb + 1, der, (size_t)dl);
		cl = 1 + (size_t)dl;
		o += put_rec(out + o, 1, certb, cl);
		OPENSSL_free(der);
		X509_free(x);
	}
	authb[0] = sig.method;
	authb[1] = authb[2] = authb[3] = 0;
	memcpy(authb + 4, sig.data, sig.len);
	o += put_rec(out + o, 2, authb, 4 + sig.len);
	auth_sig_clear(&sig);
	auth_cert_free(me.cert);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, o, f) != o) {
		perror(path);
		exit(1);
	}
	fclose(f);
	/* The seed must pass the harness's own verification. */
	if (run(out, o) != 0) {
		fprintf(stderr, "%s: does not verify\n", name);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *ee = PKI_DIR "/ee.pem", *eek = PKI_DIR "/ee.key";
	const char *rsa = PKI_DIR "/rsa.pem", *rsak = PKI_DIR "/rsa.key";
	/* RFC 7427 hash ids: 1 SHA-1, 2 SHA2-256, 3 SHA2-384, 4 SHA2-512 */
	const uint32_t h256 = 1u << 2 | 1u << 31;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	log_init("gen", LOG_TO_STDERR, LOG_LVL_ERR);
	seed(argv[1], "ca-ecdsa-m9", 0, true, 0, ee, eek, true);
	seed(argv[1], "ca-ecdsa-m14", 0, true, h256, ee, eek, true);
	seed(argv[1], "ca-ecdsa-m14-resp", 0, false, h256, ee, eek, true);
	seed(argv[1], "pinned-ecdsa-nocert", 1, true, h256, ee, eek, false);
	seed(argv[1], "key-ecdsa-nocert", 2, true, 0, ee, eek, false);
	seed(argv[1], "ca-rsa-m1", 0, true, 0, rsa, rsak, true);
	seed(argv[1], "ca-rsa-m14", 0, true, h256, rsa, rsak, true);
	seed(argv[1], "pinned-rsa-m14", 3, false, h256, rsa, rsak, true);
	return 0;
}

#endif
