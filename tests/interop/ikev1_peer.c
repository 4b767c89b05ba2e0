/*
 * ikev1_peer.c - a minimal UDP driver of the IKEv1 engine (src/ikev1) for
 * tests/interop/ikev1_charon.sh, until iked dispatches IKEv1 itself: one
 * ISAKMP SA with a PSK, one Quick Mode, optionally Informational Deletes.
 * Prints what was negotiated (and the keys, for the capture checks):
 *   ESTABLISHED icookie=HEX rcookie=HEX enc=HEX
 *   CHILD spi_in=HEX spi_out=HEX key_in=HEX key_out=HEX
 *   DELETED esp spi=HEX | DELETED isakmp
 * Exit 0 when everything asked for happened, 1 otherwise.
 *
 * ikev1-peer init|resp LOCAL PEER PSK TS_LOCAL TS_REMOTE [options]
 *   --pfs GROUP    Quick Mode with PFS in GROUP
 *   --delete S     (init) S seconds after the CHILD SA: Delete it, then
 *                  the ISAKMP SA
 *   --wait-delete  (resp) after the CHILD SA: wait for the peer's Deletes
 *   --timeout S    give up after S seconds (default 30)
 *   --natt         offer/accept NAT-T (RFC 3947): after NAT detection the
 *                  exchange moves to port 4500 with the non-ESP marker
 *   --aggressive   (init) start with Aggressive Mode; (resp) accept it
 *   --auth M       rsa | ecdsa256 | ecdsa384 | ecdsa521: Main Mode with
 *                  signatures (RFC 2409 §5.1, RFC 4754) instead of PSK
 *   --cert F --key F --trust F   our certificate, its key, and the
 *                  peer's certificate or CA (PEM; peers_public_key)
 *   --id FQDN --peer-id FQDN     ID_FQDN IDs instead of the addresses
 *   --rekey S      (init) S seconds after the first CHILD SA: Phase 2
 *                  rekey (new Quick Mode, then Delete of the old SA)
 *   --reauth S     (init) S seconds after it: a new ISAKMP SA (Phase 1
 *                  re-authentication) with a Quick Mode, then Delete of
 *                  the old ISAKMP SA; a new ISAKMP SA from the peer is
 *                  accepted beside the old one in either role
 *   --initial-contact  INITIAL-CONTACT in our message 5
 *   --evil         (init) once the CHILD SA is up, act as a malicious
 *                  peer that holds the keys (tests/netns/ikev1_evil.sh):
 *                  replay every message sent so far (Main Mode, Quick
 *                  Mode), re-seal Quick Mode and Informational messages
 *                  with a wrong HASH, send malformed lengths, attributes
 *                  and payload order under a valid HASH, plaintext
 *                  Delete/Notify, garbage ciphertext, bad header
 *                  lengths; then a genuine Quick Mode must still
 *                  complete (exit 1 otherwise).  Prints EVIL sent=N.
 * Also printed: REKEYED old=HEX new=HEX, REAUTHED, INITIAL-CONTACT.
 *
 * ikev1-peer evil-cookies LOCAL PEER ICOOKIE RCOOKIE SPI
 *   an attacker that knows only the cookies of someone else's ISAKMP SA
 *   (and an inbound SPI of it): plaintext Delete (ISAKMP and ESP) and
 *   Notify (INITIAL-CONTACT, R-U-THERE), garbage ciphertext for Quick
 *   Mode, Informational and Main Mode, malformed lengths; sent to PEER
 *   port 500 from LOCAL, then exit 0.  Prints EVIL sent=N.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ikev1/ikev1_int.h"

static int sock = -1, sock4500 = -1;
static bool floated;
static struct sockaddr_in peer, peer4500;

static int getspi(void *arg, uint32_t *spi)
{
	(void)arg;
	if (crypto_random(spi, sizeof(*spi)) != 0)
		return -EIO;
	*spi = 0xc0000000u | (*spi & 0x00ffffffu);
	return 0;
}

static void hex(const char *tag, const uint8_t *p, size_t n)
{
	printf(" %s=", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* What we sent (for --evil's replays). */
#define KEPT_MAX 32
static uint8_t *kept[KEPT_MAX];
static size_t kept_len[KEPT_MAX];
static int n_kept;

static void send_bytes(const uint8_t *p, size_t len)
{
	static uint8_t buf[65536 + 4];

	if (!floated) {
		if (sendto(sock, p, len, 0, (struct sockaddr *)&peer,
			   sizeof(peer)) < 0)
			perror("sendto");
		return;
	}
	/* RFC 3947 §4: the non-ESP marker (4 zero octets) first */
	if (len > 65536)
		return;
	memset(buf, 0, 4);
	memcpy(buf + 4, p, len);
	if (sendto(sock4500, buf, len + 4, 0, (struct sockaddr *)&peer4500,
		   sizeof(peer4500)) < 0)
		perror("sendto 4500");
}

static void send_out(struct ikev1_out *o)
{
	if (!o->pkt)
		return;
	if (o->float_4500)
		floated = true;
	if (n_kept < KEPT_MAX && (kept[n_kept] = malloc(o->len))) {
		memcpy(kept[n_kept], o->pkt, o->len);
		kept_len[n_kept++] = o->len;
	}
	send_bytes(o->pkt, o->len);
}

/* ---- --evil: what a malicious peer holding the keys can send ---- */

struct chain {
	uint8_t b[2048];
	size_t n, last;
	uint8_t first;
};

/* A generic payload header (RFC 2408 §3.2) with length len_field
 * (normally 4 + blen) and the body. */
static void ch_add_len(struct chain *c, uint8_t type, const void *body,
		       size_t blen, uint16_t len_field)
{
	if (c->n + 4 + blen > sizeof(c->b))
		return;
	if (c->n == 0)
		c->first = type;
	else
		c->b[c->last] = type;
	c->last = c->n;
	c->b[c->n] = 0;
	c->b[c->n + 1] = 0;
	c->b[c->n + 2] = (uint8_t)(len_field >> 8);
	c->b[c->n + 3] = (uint8_t)len_field;
	if (blen)
		memcpy(c->b + c->n + 4, body, blen);
	c->n += 4 + blen;
}

static void ch_add(struct chain *c, uint8_t type, const void *body, size_t blen)
{
	ch_add_len(c, type, body, blen, (uint16_t)(4 + blen));
}

enum { H_NONE, H_GOOD, H_BAD };

/* Header + chain; HASH(1) (RFC 2409 §5.5/§5.7) over the rest when the
 * first payload is a HASH (H_BAD: one octet flipped); sealed with the
 * exchange's IV unless plain; len_delta changes the header length. */
static int evil_msg(struct ikev1_sa *sa, uint8_t exch, uint32_t mid,
		    const struct chain *c, int hash, bool plain, int len_delta)
{
	size_t hl = sa->keys.hlen, plen;
	uint8_t iv[CRYPTO_MAX_BLOCK], *pkt;
	struct isakmp_hdr h;
	struct isakmp_wr b;
	uint32_t l;

	sa_hdr(sa, &h, exch, mid, !plain);
	isakmp_wr_begin(&b, &h);
	wr_bytes(&b.w, c->b, c->n);
	if (isakmp_wr_finish(&b, &pkt, &plen) != 0)
		return 0;
	pkt[16] = c->first;
	if (hash != H_NONE && c->n >= 4 + hl) {
		ikev1_qm_hash(
		    &sa->keys, mid, NULL, 0, pkt + ISAKMP_HDR_LEN + 4 + hl,
		    plen - ISAKMP_HDR_LEN - 4 - hl, pkt + ISAKMP_HDR_LEN + 4);
		if (hash == H_BAD)
			pkt[ISAKMP_HDR_LEN + 4] ^= 0x5a;
	}
	if (!plain && (ikev1_iv_exchange(&sa->keys, mid, iv) != 0 ||
		       sa_seal(sa, iv, &pkt, &plen) != 0)) {
		free(pkt);
		return 0;
	}
	l = (uint32_t)((int)plen + len_delta);
	pkt[24] = (uint8_t)(l >> 24);
	pkt[25] = (uint8_t)(l >> 16);
	pkt[26] = (uint8_t)(l >> 8);
	pkt[27] = (uint8_t)l;
	send_bytes(pkt, plen);
	free(pkt);
	usleep(20000);
	return 1;
}

static uint32_t fresh_mid(void)
{
	uint32_t m = 0;

	while (m == 0)
		if (crypto_random(&m, sizeof(m)) != 0)
			m = 0x7e57;
	return m;
}

/* Delete (RFC 2408 §3.15) / Notify (§3.14) bodies, IPsec DOI. */
static size_t del_body(uint8_t *b, uint8_t proto, const uint8_t *spi,
		       uint8_t spi_len, uint16_t n)
{
	b[0] = b[1] = b[2] = 0;
	b[3] = ISAKMP_DOI_IPSEC;
	b[4] = proto;
	b[5] = spi_len;
	b[6] = (uint8_t)(n >> 8);
	b[7] = (uint8_t)n;
	memcpy(b + 8, spi, spi_len);
	return 8u + spi_len;
}

static size_t notify_body(uint8_t *b, uint16_t type, const uint8_t *spi,
			  uint8_t spi_len)
{
	b[0] = b[1] = b[2] = 0;
	b[3] = ISAKMP_DOI_IPSEC;
	b[4] = ISAKMP_PROTO_ISAKMP;
	b[5] = spi_len;
	b[6] = (uint8_t)(type >> 8);
	b[7] = (uint8_t)type;
	memcpy(b + 8, spi, spi_len);
	return 8u + spi_len + 4; /* + 4 octets of data (R-U-THERE seq) */
}

static int evil_campaign(struct ikev1_sa *sa, uint32_t spi_in)
{
	size_t hl = sa->keys.hlen;
	uint8_t zero[CRYPTO_MAX_PRF_OUT] = {0}, nonce[32], body[256];
	uint8_t spi[4] = {(uint8_t)(spi_in >> 24), (uint8_t)(spi_in >> 16),
			  (uint8_t)(spi_in >> 8), (uint8_t)spi_in};
	uint8_t cookies[16];
	uint32_t qm_mid = 0;
	struct chain c;
	size_t n;
	int sent = 0;

	memcpy(cookies, sa->cky_i, 8);
	memcpy(cookies + 8, sa->cky_r, 8);
	memset(nonce, 0xab, sizeof(nonce));
	/* 1. replays: every Main Mode and Quick Mode message we sent */
	for (int i = 0; i < n_kept; i++) {
		if (kept_len[i] > 20 && kept[i][18] == ISAKMP_EXCH_QUICK &&
		    !qm_mid)
			qm_mid = (uint32_t)kept[i][20] << 24 |
				 (uint32_t)kept[i][21] << 16 |
				 (uint32_t)kept[i][22] << 8 | kept[i][23];
		send_bytes(kept[i], kept_len[i]);
		sent++;
		usleep(20000);
	}
	/* 2. Quick Mode re-sealed with a wrong HASH(1): a well-formed
	 * SA (ESP, AES-128, tunnel, HMAC-SHA2-256) and Nonce */
	static const uint8_t sa_ok[] = {
	    0,	  0, 0, 1, 0,	 0, 0, 1, 0,	0,  0, 32, 1, ISAKMP_PROTO_ESP,
	    4,	  1, 1, 2, 3,	 4, 0, 0, 0,	20, 1, 12, 0, 0,
	    0x80, 4, 0, 1, 0x80, 5, 0, 5, 0x80, 6,  0, 128};
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	ch_add(&c, ISAKMP_NP_SA, sa_ok, sizeof(sa_ok));
	ch_add(&c, ISAKMP_NP_NONCE, nonce, sizeof(nonce));
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_BAD, false, 0);
	/* 3. the same with a valid HASH under the M-ID of our finished
	 * Quick Mode (a replayed M-ID) */
	if (qm_mid)
		sent += evil_msg(sa, ISAKMP_EXCH_QUICK, qm_mid, &c, H_GOOD,
				 false, 0);
	/* 4. valid HASH, payload order: SA before HASH */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_SA, (uint8_t[8]){0, 0, 0, 1, 0, 0, 0, 1}, 8);
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	ch_add(&c, ISAKMP_NP_NONCE, nonce, sizeof(nonce));
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_NONE, false, 0);
	/* 5. valid HASH, a Nonce whose length runs past the message */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	ch_add_len(&c, ISAKMP_NP_NONCE, nonce, 16, 0xfff0);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_GOOD, false, 0);
	/* 6. valid HASH, a payload length below its header (2) */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	ch_add_len(&c, ISAKMP_NP_NONCE, nonce, 16, 2);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_GOOD, false, 0);
	/* 7. valid HASH, an SA whose transform attribute claims 4 KiB */
	{
		static const uint8_t sab[] = {
		    0,	  0,	0,    1,   0, 0,
		    0,	  1, /* DOI, situation */
		    0,	  0,	0,    28,  1, ISAKMP_PROTO_ESP,
		    4,	  1,	1,    2,   3, 4,
		    0,	  0,	0,    16,  1, 12,
		    0,	  0,		     /* transform AES */
		    0x00, 0x02, 0x10, 0x00}; /* variable, 4096 octets */
		memset(&c, 0, sizeof(c));
		ch_add(&c, ISAKMP_NP_HASH, zero, hl);
		ch_add(&c, ISAKMP_NP_SA, sab, sizeof(sab));
		ch_add(&c, ISAKMP_NP_NONCE, nonce, sizeof(nonce));
		sent += evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_GOOD,
				 false, 0);
	}
	/* 8. valid HASH, an unknown payload type; 9. HASH alone */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	ch_add(&c, 99, nonce, 8);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_GOOD, false, 0);
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_QUICK, fresh_mid(), &c, H_GOOD, false, 0);
	/* 10. Informational Delete (ESP, ISAKMP) and Notify with a wrong
	 * HASH, then the same in plaintext (no encryption, RFC 2409 §5.7) */
	for (int plain = 0; plain < 2; plain++) {
		memset(&c, 0, sizeof(c));
		ch_add(&c, ISAKMP_NP_HASH, zero, hl);
		n = del_body(body, ISAKMP_PROTO_ESP, spi, 4, 1);
		ch_add(&c, ISAKMP_NP_D, body, n);
		sent += evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c,
				 plain ? H_GOOD : H_BAD, plain, 0);
		memset(&c, 0, sizeof(c));
		ch_add(&c, ISAKMP_NP_HASH, zero, hl);
		n = del_body(body, ISAKMP_PROTO_ISAKMP, cookies, 16, 1);
		ch_add(&c, ISAKMP_NP_D, body, n);
		sent += evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c,
				 plain ? H_GOOD : H_BAD, plain, 0);
		memset(&c, 0, sizeof(c));
		ch_add(&c, ISAKMP_NP_HASH, zero, hl);
		n = notify_body(body, ISAKMP_N_INITIAL_CONTACT, cookies, 16);
		ch_add(&c, ISAKMP_NP_N, body, n - 4);
		sent += evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c,
				 plain ? H_GOOD : H_BAD, plain, 0);
		memset(&c, 0, sizeof(c));
		ch_add(&c, ISAKMP_NP_HASH, zero, hl);
		n = notify_body(body, ISAKMP_N_DPD_R_U_THERE, cookies, 16);
		ch_add(&c, ISAKMP_NP_N, body, n);
		sent += evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c,
				 plain ? H_GOOD : H_BAD, plain, 0);
	}
	/* 11. valid HASH, a Delete whose SPI count runs past the payload */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	n = del_body(body, ISAKMP_PROTO_ESP, spi, 4, 200);
	ch_add(&c, ISAKMP_NP_D, body, n);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c, H_GOOD, false, 0);
	/* 12. header length larger / smaller than the datagram */
	memset(&c, 0, sizeof(c));
	ch_add(&c, ISAKMP_NP_HASH, zero, hl);
	n = del_body(body, ISAKMP_PROTO_ESP, spi, 4, 1);
	ch_add(&c, ISAKMP_NP_D, body, n);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c, H_GOOD, false, 64);
	sent +=
	    evil_msg(sa, ISAKMP_EXCH_INFO, fresh_mid(), &c, H_GOOD, false, -16);
	/* 13. garbage ciphertext: Quick Mode, Informational, Main Mode,
	 * and an exchange type nobody defined */
	{
		uint8_t g[28 + 64];
		static const uint8_t ex[] = {ISAKMP_EXCH_QUICK,
					     ISAKMP_EXCH_INFO,
					     ISAKMP_EXCH_IDPROT, 99};
		for (size_t e = 0; e < sizeof(ex); e++) {
			uint32_t mid = e == 2 ? 0 : fresh_mid();
			size_t gl = e == 1 ? sizeof(g) - 1 : sizeof(g);
			memcpy(g, cookies, 16);
			g[16] = ISAKMP_NP_HASH;
			g[17] = 0x10;
			g[18] = ex[e];
			g[19] = ISAKMP_FLAG_E;
			g[20] = (uint8_t)(mid >> 24);
			g[21] = (uint8_t)(mid >> 16);
			g[22] = (uint8_t)(mid >> 8);
			g[23] = (uint8_t)mid;
			g[24] = g[25] = 0;
			g[26] = (uint8_t)(gl >> 8);
			g[27] = (uint8_t)gl;
			if (crypto_random(g + 28, sizeof(g) - 28) != 0)
				memset(g + 28, 0x33, sizeof(g) - 28);
			send_bytes(g, gl);
			sent++;
			usleep(20000);
		}
	}
	printf("EVIL sent=%d\n", sent);
	return sent;
}

/* An attacker with someone else's cookies only (no keys). */
static int evil_cookies(const char *ci_hex, const char *cr_hex,
			const char *spi_hex)
{
	uint8_t g[28 + 128], cookies[16], spi[4];
	unsigned long long ci = strtoull(ci_hex, NULL, 16),
			   cr = strtoull(cr_hex, NULL, 16);
	unsigned long s = strtoul(spi_hex, NULL, 16);
	int sent = 0;

	for (int i = 0; i < 8; i++) {
		cookies[i] = (uint8_t)(ci >> (56 - 8 * i));
		cookies[8 + i] = (uint8_t)(cr >> (56 - 8 * i));
	}
	for (int i = 0; i < 4; i++)
		spi[i] = (uint8_t)(s >> (24 - 8 * i));
	for (int k = 0; k < 12; k++) {
		uint8_t *p = g + 28, exch = ISAKMP_EXCH_INFO, flags = 0;
		uint32_t mid = fresh_mid();
		size_t n = 0, len;
		switch (k) {
		case 0: /* plaintext Delete of the ISAKMP SA, no HASH */
		case 1: /* ... of the ESP SA */
			g[16] = ISAKMP_NP_D;
			n = del_body(p + 4,
				     k ? ISAKMP_PROTO_ESP : ISAKMP_PROTO_ISAKMP,
				     k ? spi : cookies, k ? 4 : 16, 1);
			break;
		case 2: /* plaintext INITIAL-CONTACT */
			g[16] = ISAKMP_NP_N;
			n = notify_body(p + 4, ISAKMP_N_INITIAL_CONTACT,
					cookies, 16) -
			    4;
			break;
		case 3: /* plaintext R-U-THERE */
			g[16] = ISAKMP_NP_N;
			n = notify_body(p + 4, ISAKMP_N_DPD_R_U_THERE, cookies,
					16);
			break;
		case 4: /* plaintext Delete behind a zero HASH */
			g[16] = ISAKMP_NP_HASH;
			memset(p, 0, 4 + 32);
			p[0] = ISAKMP_NP_D;
			p[3] = 4 + 32;
			n = del_body(p + 36 + 4, ISAKMP_PROTO_ISAKMP, cookies,
				     16, 1);
			p[36] = p[36 + 1] = p[36 + 2] = 0;
			p[36 + 3] = (uint8_t)(4 + n);
			n += 36 + 4;
			break;
		default: /* encrypted garbage: Info, Quick, Main Mode, with
			  * wrong header lengths in the last ones */
			g[16] = ISAKMP_NP_HASH;
			exch = k % 3 == 0   ? ISAKMP_EXCH_INFO
			       : k % 3 == 1 ? ISAKMP_EXCH_QUICK
					    : ISAKMP_EXCH_IDPROT;
			flags = ISAKMP_FLAG_E;
			n = 64 - 4;
			if (crypto_random(p + 4, n) != 0)
				memset(p + 4, 0x44, n);
			break;
		}
		if (k < 4) {
			p[0] = 0;
			p[1] = 0;
			p[2] = (uint8_t)((4 + n) >> 8);
			p[3] = (uint8_t)(4 + n);
		}
		len = 28 + (k == 4 ? n : 4 + n);
		if (k > 4)
			memset(p, 0, 4);
		memcpy(g, cookies, 16);
		g[17] = 0x10;
		g[18] = exch;
		g[19] = flags;
		g[20] = (uint8_t)(mid >> 24);
		g[21] = (uint8_t)(mid >> 16);
		g[22] = (uint8_t)(mid >> 8);
		g[23] = (uint8_t)mid;
		{
			size_t hlen = k >= 10 ? len + 16 * (k - 9) : len;
			g[24] = g[25] = 0;
			g[26] = (uint8_t)(hlen >> 8);
			g[27] = (uint8_t)hlen;
		}
		send_bytes(g, len);
		sent++;
		usleep(20000);
	}
	printf("EVIL sent=%d\n", sent);
	return 0;
}

static int prefix(const char *s, struct isakmp_id *id)
{
	char buf[64];
	const char *sl = strchr(s, '/');
	unsigned plen = 32;
	struct in_addr a;

	snprintf(buf, sizeof(buf), "%.*s", sl ? (int)(sl - s) : (int)strlen(s),
		 s);
	if (sl)
		plen = (unsigned)atoi(sl + 1);
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	return isakmp_id_from_prefix(id, AF_INET, &a, plen, 0, 0);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

static void set_fqdn(uint8_t *type, uint8_t *buf, size_t *len, const char *s)
{
	*type = ISAKMP_ID_FQDN;
	*len = strlen(s) < IKEV1_MAX_ID ? strlen(s) : IKEV1_MAX_ID;
	memcpy(buf, s, *len);
}

int main(int argc, char **argv)
{
	struct ikev1_conf c;
	struct ikev1_sa *sa = NULL;
	struct sockaddr_in local;
	bool init, want_delete = false, wait_delete = false;
	bool established = false, child = false, del_esp = false;
	bool del_isakmp = false;
	struct ikev1_sa *old_sa = NULL;
	int rekey_at = -1, reauth_at = -1, n_child = 0;
	bool rekey_sent = false, reauth_sent = false;
	bool evil = false, evil_done = false;
	time_t first_child_at = 0;
	int timeout = 30, tries = 0, hold = 0;
	time_t child_at = 0;
	uint32_t child_spi_in = 0;
	time_t start = time(NULL), last_send = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: ikev1-peer init|resp LOCAL PEER PSK "
				"TS_LOCAL TS_REMOTE [--pfs G] [--delete S] "
				"[--wait-delete] [--timeout S]\n");
		return 2;
	}
	if (!strcmp(argv[1], "evil-cookies") && argc >= 7) {
		memset(&peer, 0, sizeof(peer));
		memset(&local, 0, sizeof(local));
		local.sin_family = peer.sin_family = AF_INET;
		peer.sin_port = htons(500);
		if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 ||
		    inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1)
			return 2;
		sock = socket(AF_INET, SOCK_DGRAM, 0);
		if (sock < 0 ||
		    bind(sock, (struct sockaddr *)&local, sizeof(local))) {
			perror("socket/bind");
			return 1;
		}
		setvbuf(stdout, NULL, _IOLBF, 0);
		return evil_cookies(argv[4], argv[5], argv[6]);
	}
	init = strcmp(argv[1], "init") == 0;
	memset(&c, 0, sizeof(c));
	memset(&local, 0, sizeof(local));
	memset(&peer, 0, sizeof(peer));
	local.sin_family = peer.sin_family = AF_INET;
	local.sin_port = peer.sin_port = htons(500);
	if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1 ||
	    prefix(argv[5], &c.ts_local) || prefix(argv[6], &c.ts_remote)) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	c.psk = (const uint8_t *)argv[4];
	c.psk_len = strlen(argv[4]);
	c.id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c.id, &local.sin_addr, 4);
	c.id_len = 4;
	c.peer_id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c.peer_id, &peer.sin_addr, 4);
	c.peer_id_len = 4;
	c.p1[c.n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 128, ISAKMP_P1_HASH_SHA2_256, 14, 3600};
	c.p1[c.n_p1++] = (struct ikev1_p1_suite){ISAKMP_P1_ENCR_AES_CBC, 256,
						 ISAKMP_P1_HASH_SHA1, 14, 3600};
	c.p2[c.n_p2++] = (struct ikev1_p2_suite){
	    ISAKMP_ESP_AES_CBC, 128, ISAKMP_AUTH_HMAC_SHA2_256, 1200};
	c.p2[c.n_p2++] = (struct ikev1_p2_suite){ISAKMP_ESP_AES_CBC, 256,
						 ISAKMP_AUTH_HMAC_SHA1, 1200};
	c.getspi = getspi;
	for (int i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "--pfs") && i + 1 < argc)
			c.pfs_group = (uint16_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--delete") && i + 1 < argc) {
			want_delete = true;
			hold = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--wait-delete"))
			wait_delete = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--natt"))
			c.natt = true;
		else if (!strcmp(argv[i], "--aggressive"))
			c.aggressive = c.aggressive_initiate = true;
		else if (!strcmp(argv[i], "--auth") && i + 1 < argc) {
			const char *m = argv[++i];
			c.auth_method =
			    !strcmp(m, "rsa")	     ? ISAKMP_P1_AUTH_RSA_SIG
			    : !strcmp(m, "ecdsa256") ? ISAKMP_P1_AUTH_ECDSA_256
			    : !strcmp(m, "ecdsa384") ? ISAKMP_P1_AUTH_ECDSA_384
						     : ISAKMP_P1_AUTH_ECDSA_521;
			c.verify_id = c.send_certreq = true;
		} else if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
			if (!(c.cert = read_cert(argv[++i])))
				return 2;
		} else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			if (!(c.key = read_key(argv[++i])))
				return 2;
		} else if (!strcmp(argv[i], "--trust") && i + 1 < argc) {
			X509 *x = read_cert(argv[++i]);
			if (!x)
				return 2;
			c.peer_certs = sk_X509_new_null();
			sk_X509_push(c.peer_certs, x);
		} else if (!strcmp(argv[i], "--id") && i + 1 < argc)
			set_fqdn(&c.id_type, c.id, &c.id_len, argv[++i]);
		else if (!strcmp(argv[i], "--peer-id") && i + 1 < argc)
			set_fqdn(&c.peer_id_type, c.peer_id, &c.peer_id_len,
				 argv[++i]);
		else if (!strcmp(argv[i], "--rekey") && i + 1 < argc)
			rekey_at = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reauth") && i + 1 < argc)
			reauth_at = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--initial-contact"))
			c.initial_contact = true;
		else if (!strcmp(argv[i], "--evil"))
			evil = true;
	}
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof(local))) {
		perror("socket/bind");
		return 1;
	}
	{
		struct sockaddr_in l4 = local;
		l4.sin_port = htons(4500);
		peer4500 = peer;
		peer4500.sin_port = htons(4500);
		sock4500 = socket(AF_INET, SOCK_DGRAM, 0);
		if (sock4500 < 0 ||
		    bind(sock4500, (struct sockaddr *)&l4, sizeof(l4))) {
			perror("socket/bind 4500");
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (init) {
		struct ikev1_out o;
		if (ikev1_sa_new_initiator(&c, &sa, &o) != 0 ||
		    ikev1_sa_set_addrs(sa, (struct sockaddr *)&local,
				       (struct sockaddr *)&peer) != 0)
			return 1;
		send_out(&o);
		ikev1_out_clear(&o);
		last_send = time(NULL);
	}
	while (time(NULL) - start < timeout) {
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
					{.fd = sock4500, .events = POLLIN}};
		uint8_t raw[65536 + 4], *buf = raw;
		struct ikev1_out o;
		ssize_t n;

		if (child && (!want_delete || del_isakmp) &&
		    (!wait_delete || del_isakmp) && (!evil || n_child >= 2))
			break;
		if (init && child && evil && !evil_done) {
			struct ikev1_out q;
			evil_done = true;
			evil_campaign(sa, child_spi_in);
			sleep(1);
			/* the ISAKMP SA must still work: a genuine Quick Mode
			 */
			if (ikev1_quick_start(sa, &q) == 0) {
				send_out(&q);
				last_send = time(NULL);
				tries = 0;
			}
			ikev1_out_clear(&q);
			continue;
		}
		if (init && child && rekey_at >= 0 && !rekey_sent &&
		    time(NULL) - first_child_at >= rekey_at) {
			struct ikev1_out q;
			rekey_sent = true;
			if (ikev1_quick_rekey(sa, child_spi_in, &q) == 0) {
				send_out(&q);
				last_send = time(NULL);
			}
			ikev1_out_clear(&q);
			continue;
		}
		if (init && child && reauth_at >= 0 && !reauth_sent &&
		    time(NULL) - first_child_at >= reauth_at) {
			struct ikev1_out q;
			reauth_sent = true;
			c.initial_contact = false; /* not a restart */
			ikev1_sa_free(old_sa);
			old_sa = sa;
			sa = NULL;
			established = false;
			if (ikev1_sa_new_initiator(&c, &sa, &q) == 0 &&
			    ikev1_sa_set_addrs(sa, (struct sockaddr *)&local,
					       (struct sockaddr *)&peer) == 0) {
				send_out(&q);
				last_send = time(NULL);
			}
			ikev1_out_clear(&q);
			continue;
		}
		if (child && want_delete && !del_isakmp &&
		    (rekey_at < 0 || n_child >= 2) &&
		    (reauth_at < 0 || (reauth_sent && !old_sa)) &&
		    time(NULL) - child_at >= hold) {
			struct ikev1_out d;
			if (ikev1_delete(sa, child_spi_in, &d) == 0)
				send_out(&d);
			ikev1_out_clear(&d);
			sleep(1);
			if (ikev1_delete(sa, 0, &d) == 0)
				send_out(&d);
			ikev1_out_clear(&d);
			del_esp = del_isakmp = true;
			printf("SENT deletes\n");
			continue;
		}
		if (poll(pfd, 2, 500) <= 0) {
			/* retransmission, 2 s apart, 5 times */
			if (sa && time(NULL) - last_send >= 2 && tries < 5 &&
			    ikev1_retransmit(sa, &o) == 0) {
				send_out(&o);
				ikev1_out_clear(&o);
				last_send = time(NULL);
				tries++;
			}
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			n = recv(sock, raw, sizeof(raw), 0);
		} else {
			n = recv(sock4500, raw, sizeof(raw), 0);
			/* RFC 3947 §4 / RFC 3948 §2.2: IKE after the marker;
			 * anything else is ESP, not ours */
			if (n < 4 || raw[0] | raw[1] | raw[2] | raw[3])
				continue;
			buf = raw + 4;
			n -= 4;
		}
		if (n <= 0)
			continue;
		struct isakmp_msg hm;
		struct ikev1_sa *t = NULL;
		if (isakmp_msg_parse(buf, (size_t)n, &hm) != 0)
			continue;
		for (int k = 0; k < 2; k++) {
			struct ikev1_sa *s2 = k ? old_sa : sa;
			uint64_t ci, cr;
			if (!s2)
				continue;
			ikev1_sa_cookies(s2, &ci, &cr);
			if (ci == hm.hdr.icookie)
				t = s2;
		}
		if (!t && hm.hdr.rcookie == 0) {
			/* a new ISAKMP SA from the peer (the first, or its
			 * re-authentication) */
			struct ikev1_sa *ns = NULL;
			if (ikev1_sa_new_responder_at(
				&c, &hm, (struct sockaddr *)&local,
				(struct sockaddr *)&peer, &ns, &o) != 0) {
				fprintf(stderr, "first message refused\n");
				continue;
			}
			if (sa) {
				ikev1_sa_free(old_sa);
				old_sa = sa;
				established = false;
				printf("NEW ISAKMP SA from the peer\n");
			}
			sa = t = ns;
		} else if (!t || ikev1_input(t, buf, (size_t)n, &o) != 0) {
			fprintf(stderr, "message dropped\n");
			continue;
		}
		if (o.initial_contact)
			printf("INITIAL-CONTACT\n");
		send_out(&o);
		if (o.pkt) {
			last_send = time(NULL);
			tries = 0;
		}
		if (o.established && !established && t == sa) {
			uint64_t ci, cr;
			const struct ikev1_keys *k = ikev1_sa_keys(sa);
			established = true;
			ikev1_sa_cookies(sa, &ci, &cr);
			printf("ESTABLISHED icookie=%016llx rcookie=%016llx",
			       (unsigned long long)ci, (unsigned long long)cr);
			hex("enc", k->enc_key, k->keybits / 8u);
			printf(" prf=%u\n", k->prf);
			if (init) {
				struct ikev1_out q;
				ikev1_out_clear(&o);
				/* Aggressive Mode: charon handles datagrams on
				 * several threads and ignores a Quick Mode that
				 * overtakes message 3 (then our retransmission
				 * gets through, but tshark cannot decrypt the
				 * duplicate): give message 3 a head start */
				if (c.aggressive_initiate)
					usleep(300000);
				if (ikev1_quick_start(sa, &q) == 0) {
					send_out(&q);
					last_send = time(NULL);
				}
				ikev1_out_clear(&q);
				continue;
			}
		}
		if (o.child_ready) {
			child = true;
			child_at = time(NULL);
			if (!n_child++)
				first_child_at = child_at;
			if (o.child.replaces) {
				/* the rekeyed SA is up: the old one goes */
				struct ikev1_out d;
				if (ikev1_delete(t, o.child.replaces, &d) == 0)
					send_out(&d);
				ikev1_out_clear(&d);
				printf("REKEYED old=%08x new=%08x\n",
				       o.child.replaces, o.child.spi_in);
			}
			if (init && old_sa && t == sa) {
				/* re-authenticated: the old ISAKMP SA goes */
				struct ikev1_out d;
				if (ikev1_delete(old_sa, 0, &d) == 0)
					send_out(&d);
				ikev1_out_clear(&d);
				ikev1_sa_free(old_sa);
				old_sa = NULL;
				printf("REAUTHED\n");
			}
			child_spi_in = o.child.spi_in;
			printf("CHILD spi_in=%08x spi_out=%08x", o.child.spi_in,
			       o.child.spi_out);
			hex("key_in", o.child.key_in, o.child.keylen);
			hex("key_out", o.child.key_out, o.child.keylen);
			printf(" pfs=%d udp_encap=%d\n", o.child.pfs,
			       o.child.udp_encap);
		}
		if (o.deleted_proto == ISAKMP_PROTO_ESP) {
			del_esp = true;
			printf("DELETED esp spi=%08x\n", o.deleted_spi);
		} else if (o.deleted_proto == ISAKMP_PROTO_ISAKMP) {
			printf("DELETED isakmp%s\n", t == sa ? "" : " (old)");
			if (t == sa)
				del_isakmp = true;
			else {
				ikev1_sa_free(old_sa);
				old_sa = NULL;
			}
		}
		ikev1_out_clear(&o);
	}
	(void)del_esp;
	ikev1_sa_free(sa);
	ikev1_sa_free(old_sa);
	X509_free(c.cert);
	EVP_PKEY_free(c.key);
	sk_X509_pop_free(c.peer_certs, X509_free);
	close(sock);
	close(sock4500);
	for (int i = 0; i < n_kept; i++)
		free(kept[i]);
	return child && (!want_delete || del_isakmp) &&
		       (!wait_delete || del_isakmp) && (!evil || n_child >= 2)
		   ? 0
		   : 1;
}
