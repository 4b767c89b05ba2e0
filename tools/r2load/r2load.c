/*
 * r2load - an IKEv2 load generator (issue 14): many concurrent
 * initiators against one responder (iked, charon, anything IKEv2), so
 * that the responder's setups/s, CPU and memory per SA can be measured
 * the same way for every implementation.
 *
 * Each SA runs IKE_SA_INIT + IKE_AUTH (PSK, RFC 7296 §1.2, §2.15) with
 * one CHILD SA or none (RFC 6023 childless), then optionally CREATE_CHILD_SA
 * exchanges (CHILD SA rekeys, §1.3.3; new CHILD SAs when childless) and a
 * DELETE of the IKE SA (§1.4.1).  The wire format, keys and crypto are
 * the project's own (src/ike/codec, src/crypto); r2load keeps only the
 * per-SA state of the exchange it is in.
 *
 * Cheap per SA, so that the responder saturates first: one DH key pair
 * for every SA (-F: a fresh one per SA), proposals, KE payload data and
 * IDs built once; per SA only the SPI, the nonce and the keys differ.
 * -G goes further: private value 1, so the public value is the group's
 * generator and g^ir is the responder's own public value (unitdh.c): no
 * DH arithmetic per SA here, all of it still at the responder.
 * One thread, one epoll loop, one UDP socket per source address and
 * port (IP_FREEBIND: the addresses need only a local route, e.g.
 * `ip -6 route add local 2001:db8:100::/48 dev lo`).
 *
 * The responder needs one PSK for every identity r2load uses
 * (-I "r2load-%u.bench" by default: one identity per SA).
 *
 * Hold (-H SECS): the SAs stay up for SECS after the last setup, and
 * every INFORMATIONAL request the responder sends on one of them -- its
 * liveness checks (RFC 7296 §2.4, DPD), a DELETE -- gets an empty
 * INFORMATIONAL response (§1.4, §1.5), so that a responder with DPD on
 * keeps them.  For that the SA's four SK_e/SK_a keys are kept from
 * IKE_AUTH on in one flat array (2 x 36 octets per SA for AES-GCM-256),
 * and the cipher contexts are built per request, not held.
 *
 * Output: a progress line per second on stderr, and one summary line of
 * key=value pairs on stdout (see README.md in this directory); with -H
 * a second one (r2load-hold:) when the hold ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ike/codec/ikev2.h"
#include "lib/util.h"
#include "lib/wr.h"
#include "unitdh.h"

#define NONCE_LEN 32
#define MAX_SOCK  65536

enum st {
	S_IDLE = 0,
	S_INIT, /* IKE_SA_INIT request out */
	S_AUTH, /* IKE_AUTH request out */
	S_CHILD,
	S_CHDEL, /* DELETE of the CHILD SA a rekey replaced */
	S_DEL,
	S_DONE,
	S_FAIL,
};

/* Per-SA state: kept small; keys and contexts only while exchanging. */
struct lsa {
	uint64_t spi_i, spi_r;
	uint64_t t0, tsent; /* ns: first request, last (re)send */
	uint8_t state, tries;
	bool kept; /* -H: keys in g.hkeys */
	uint16_t rekeys_done;
	uint32_t mid;
	uint32_t sock; /* index into g.fd */
	uint32_t infl; /* slot in the in-flight list */
	uint32_t child_spi, old_spi;
	uint8_t *req; /* last request (retransmissions) */
	size_t req_len;
	struct ex *ex; /* exchange state until done */
};

struct ex {
	uint8_t ni[NONCE_LEN];
	uint8_t nr[IKEV2_NONCE_MAX];
	size_t nr_len;
	uint8_t *init_req;
	size_t init_req_len;
	uint8_t cookie[64];
	size_t cookie_len;
	struct crypto_dh *dh; /* -F only */
	struct ikev2_suite suite;
	struct ikev2_sa_keys keys;
	struct ikev2_sk_ctx sk_out, sk_in;
	bool keyed;
};

static struct {
	/* options */
	struct sockaddr_storage dst;
	socklen_t dst_len;
	int af;
	uint8_t src[16];
	unsigned naddr, nport;
	unsigned n, window;
	double rate;
	uint16_t group;
	uint16_t ike_encr, ike_keybits, esp_encr, esp_keybits;
	const char *id_fmt;
	uint8_t psk[256];
	size_t psk_len;
	bool childless, del, fresh_dh, quiet, natt;
	bool unit_dh;			 /* -G: private value 1 (unitdh.h) */
	struct sockaddr_storage dst4500; /* -U: IKE_AUTH onward */
	unsigned rekeys;
	unsigned timeout_ms, tries;
	unsigned hold_s; /* -H */
	bool hold;
	uint8_t ts_base[16];
	/* precomputed */
	struct crypto_dh *dh;
	uint8_t ke[CRYPTO_MAX_DH_PUB];
	size_t ke_len;
	struct ikev2_sa offer;
	struct ikev2_prefs esp;
	/* run */
	int ep;
	int *fd;
	unsigned nfd;
	struct lsa *sa;
	uint32_t *lat_us;
	uint32_t *infl;
	unsigned ninfl;
	unsigned started, done, failed, established, rtx;
	unsigned fail_why[8];
	uint64_t t_start, t_last_prog;
	unsigned done_last;
	/* -H: SK_ei|SK_ai|SK_er|SK_ar per SA, one suite for all */
	uint8_t *hkeys;
	size_t hkl, h_elen, h_alen;
	uint16_t h_encr, h_integ;
	unsigned kept, answered, answered_last, req_other, req_bad;
} g;

enum { F_TIMEOUT, F_REFUSED, F_CRYPTO, F_PROTO, F_LOCAL, F_NFAIL };
static const char *const fail_name[F_NFAIL] = {"timeout", "refused", "crypto",
					       "protocol", "local"};

static volatile sig_atomic_t stop, cut;

/* SIGUSR1: start no more SAs; those in flight finish, then -H holds. */
static void on_usr1(int s)
{
	(void)s;
	cut = 1;
}

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "r2load: %s\n", what);
	exit(2);
}

/* ---- per-SA bookkeeping ---- */

static void infl_add(uint32_t i)
{
	g.sa[i].infl = g.ninfl;
	g.infl[g.ninfl++] = i;
}

static void infl_del(uint32_t i)
{
	uint32_t slot = g.sa[i].infl, last = g.infl[--g.ninfl];

	g.infl[slot] = last;
	g.sa[last].infl = slot;
}

static void ex_free(struct lsa *s)
{
	struct ex *e = s->ex;

	if (!e)
		return;
	if (e->keyed) {
		ikev2_sk_free(&e->sk_out);
		ikev2_sk_free(&e->sk_in);
	}
	ikev2_sa_keys_wipe(&e->keys);
	crypto_dh_free(e->dh);
	free(e->init_req);
	free(e);
	s->ex = NULL;
}

/* -H: the SA's SK_e/SK_a keys into g.hkeys (IKE_AUTH verified). */
static void keep_keys(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	const struct ex *e = s->ex;
	uint8_t *k;

	if (!e || !e->keyed)
		return;
	if (!g.hkeys) {
		g.h_elen = e->keys.encr_len;
		g.h_alen = e->keys.integ_len;
		g.h_encr = e->suite.encr;
		g.h_integ = e->suite.integ;
		g.hkl = 2 * (g.h_elen + g.h_alen);
		g.hkeys = calloc(g.n, g.hkl);
		if (!g.hkeys)
			die("out of memory (-H keys)");
	}
	/* one suite for all: the offer has one transform of each type */
	if (e->keys.encr_len != g.h_elen || e->keys.integ_len != g.h_alen ||
	    e->suite.encr != g.h_encr || e->suite.integ != g.h_integ)
		return;
	k = g.hkeys + (size_t)i * g.hkl;
	memcpy(k, e->keys.sk_ei, g.h_elen);
	memcpy(k + g.h_elen, e->keys.sk_ai, g.h_alen);
	memcpy(k + g.h_elen + g.h_alen, e->keys.sk_er, g.h_elen);
	memcpy(k + 2 * g.h_elen + g.h_alen, e->keys.sk_ar, g.h_alen);
	s->kept = true;
	g.kept++;
}

static void finish(uint32_t i, bool ok, int why)
{
	struct lsa *s = &g.sa[i];

	infl_del(i);
	if (ok && g.hold && s->state != S_DEL)
		keep_keys(i);
	ex_free(s);
	free(s->req);
	s->req = NULL;
	s->state = ok ? S_DONE : S_FAIL;
	g.done++;
	if (!ok) {
		g.failed++;
		g.fail_why[why]++;
	}
}

static const struct sockaddr *dst_of(const struct lsa *s)
{
	return (const struct sockaddr *)(g.natt && s->state > S_INIT
					     ? &g.dst4500
					     : &g.dst);
}

static int send_req(uint32_t i, uint8_t *pkt, size_t len)
{
	struct lsa *s = &g.sa[i];
	ssize_t n;

	if (g.natt && s->state > S_INIT) {
		/* RFC 3948 §2.2: the non-ESP marker on port 4500 */
		uint8_t *m = malloc(len + 4);
		if (!m) {
			free(pkt);
			return -ENOMEM;
		}
		memset(m, 0, 4);
		memcpy(m + 4, pkt, len);
		free(pkt);
		pkt = m;
		len += 4;
	}
	free(s->req);
	s->req = pkt;
	s->req_len = len;
	s->tsent = now_ns();
	s->tries = 0;
	n = sendto(g.fd[s->sock], pkt, len, 0, dst_of(s), g.dst_len);
	/* A full socket buffer is a lost datagram: the timer resends. */
	(void)n;
	return 0;
}

/* ---- messages ---- */

static void hdr_for(const struct lsa *s, uint8_t exch, struct ikev2_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->spi_i = s->spi_i;
	h->spi_r = s->spi_r;
	h->exch = exch;
	h->flags = IKEV2_FLAG_INITIATOR;
	h->msgid = s->mid;
}

static int send_init(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	struct ex *e = s->ex;
	const uint8_t *ke = g.ke;
	uint8_t kebuf[CRYPTO_MAX_DH_PUB];
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	if (g.fresh_dh) {
		if (!e->dh && crypto_dh_new(g.group, &e->dh) < 0)
			return -EIO;
		if (crypto_dh_public(e->dh, kebuf, g.ke_len) < 0)
			return -EIO;
		ke = kebuf;
	}
	s->spi_r = 0;
	s->mid = 0;
	hdr_for(s, IKEV2_EXCH_IKE_SA_INIT, &h);
	ikev2_wr_begin(&b, &h);
	if (e->cookie_len) /* RFC 7296 §2.6: COOKIE first */
		ikev2_put_notify_simple(&b, IKEV2_N_COOKIE, e->cookie,
					e->cookie_len);
	ikev2_put_sa(&b, &g.offer);
	ikev2_put_ke(&b, g.group, ke, g.ke_len);
	ikev2_put_nonce(&b, e->ni, NONCE_LEN);
	if (g.natt) {
		/* RFC 7296 §2.23: a source hash that matches no address
		 * makes the responder see us behind a NAT, so ESP goes
		 * into UDP (what kernel-libipsec needs); the destination
		 * hash is the responder's own address, as a road warrior
		 * behind a NAT sends it, so it does not think itself
		 * behind one (no keepalives from it, RFC 3948 §4). */
		uint8_t h1[20], h2[20];
		if (crypto_random(h1, sizeof(h1)) < 0)
			memset(h1, 0xa5, 20);
		if (ikev2_natd_hash(s->spi_i, 0,
				    (const struct sockaddr *)&g.dst, h2) < 0)
			memset(h2, 0x5a, 20);
		ikev2_put_notify_simple(&b, IKEV2_N_NAT_DETECTION_SOURCE_IP, h1,
					sizeof(h1));
		ikev2_put_notify_simple(
		    &b, IKEV2_N_NAT_DETECTION_DESTINATION_IP, h2, sizeof(h2));
	}
	if (g.childless) /* RFC 6023 §3 */
		ikev2_put_notify_simple(&b, IKEV2_N_CHILDLESS_IKEV2_SUPPORTED,
					NULL, 0);
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		return -ENOMEM;
	free(e->init_req);
	e->init_req = malloc(len);
	if (!e->init_req) {
		free(pkt);
		return -ENOMEM;
	}
	memcpy(e->init_req, pkt, len);
	e->init_req_len = len;
	s->state = S_INIT;
	return send_req(i, pkt, len);
}

/* SA (ESP) [, Ni], TSi, TSr of a CHILD SA; in CREATE_CHILD_SA (ccsa) a
 * REKEY_SA for the CHILD SA we have, and the nonce. */
static void put_child(struct ikev2_wr *b, uint32_t i, bool ccsa)
{
	struct lsa *s = &g.sa[i];
	struct ikev2_sa sa;
	struct ikev2_ts_list tsi, tsr;
	uint8_t spi[4], a[16], zero[16] = {0};
	uint32_t v = i + 1;
	uint32_t nspi = 0;

	while (!nspi)
		if (crypto_random(&nspi, sizeof(nspi)) < 0)
			nspi = 0x1000 + i;
	if (ccsa && s->child_spi) {
		struct ikev2_notify n = {0};
		uint8_t old[4];
		ikev2_spi32_put(old, s->child_spi);
		n.proto = IKEV2_PROTO_ESP;
		n.spi_len = 4;
		n.spi = old;
		n.type = IKEV2_N_REKEY_SA; /* RFC 7296 §1.3.3 */
		ikev2_put_notify(b, &n);
		s->old_spi = s->child_spi;
	}
	s->child_spi = nspi;
	ikev2_spi32_put(spi, nspi);
	(void)ikev2_sa_build(&g.esp, spi, 4, &sa);
	ikev2_put_sa(b, &sa);
	/* TSi: a /128 of its own per SA (a responder refuses overlapping
	 * selectors of different peers); TSr: anything. */
	memcpy(a, g.ts_base, 16);
	a[12] ^= (uint8_t)(v >> 24);
	a[13] ^= (uint8_t)(v >> 16);
	a[14] ^= (uint8_t)(v >> 8);
	a[15] ^= (uint8_t)v;
	tsi.n = tsr.n = 1;
	ikev2_ts_from_prefix(&tsi.ts[0], AF_INET6, a, 128, 0, 0);
	ikev2_ts_from_prefix(&tsr.ts[0], AF_INET6, zero, 0, 0, 0);
	/* RFC 7296 §1.3: CREATE_CHILD_SA carries SA, Ni, TSi, TSr */
	if (ccsa) {
		uint8_t n[NONCE_LEN];
		if (crypto_random(n, sizeof(n)) < 0)
			memset(n, 0x5a, sizeof(n));
		ikev2_put_nonce(b, n, sizeof(n));
	}
	ikev2_put_ts(b, IKEV2_PL_TSi, &tsi);
	ikev2_put_ts(b, IKEV2_PL_TSr, &tsr);
}

/* IDi: -I with its %u replaced by the SA index. */
static int id_expand(char *out, size_t cap, uint32_t i)
{
	const char *p = strstr(g.id_fmt, "%u");
	char num[16];
	size_t pre, nl, post;

	if (!p) {
		pre = strlen(g.id_fmt);
		nl = post = 0;
	} else {
		pre = (size_t)(p - g.id_fmt);
		nl = (size_t)snprintf(num, sizeof(num), "%u", i);
		post = strlen(p + 2);
	}
	if (pre + nl + post + 1 > cap)
		return -1;
	memcpy(out, g.id_fmt, pre);
	if (p) {
		memcpy(out + pre, num, nl);
		memcpy(out + pre + nl, p + 2, post);
	}
	out[pre + nl + post] = '\0';
	return (int)(pre + nl + post);
}

static int send_auth(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	struct ex *e = s->ex;
	char idstr[128];
	uint8_t idb[4 + 128], mac[CRYPTO_MAX_PRF_OUT];
	size_t idb_len, mac_len = 0;
	struct ikev2_id id = {0};
	struct ikev2_hdr h;
	struct ikev2_wr b;
	struct wr oct;
	uint8_t *pkt;
	size_t len;
	int n, rc;

	n = id_expand(idstr, sizeof(idstr), i);
	if (n <= 0)
		return -EINVAL;
	id.type = IKEV2_ID_FQDN;
	id.data = (const uint8_t *)idstr;
	id.len = (size_t)n;
	/* RestOfIDPayload (§2.15) */
	idb[0] = IKEV2_ID_FQDN;
	idb[1] = idb[2] = idb[3] = 0;
	memcpy(idb + 4, idstr, (size_t)n);
	idb_len = 4 + (size_t)n;
	wr_init(&oct, 0);
	rc = ikev2_signed_octets(e->suite.prf, e->init_req, e->init_req_len,
				 e->nr, e->nr_len, e->keys.sk_pi,
				 e->keys.prf_len, idb, idb_len, &oct);
	if (rc == 0)
		rc = wr_error(&oct);
	if (rc == 0)
		rc = ikev2_auth_psk(e->suite.prf, g.psk, g.psk_len, oct.buf,
				    oct.len, mac, &mac_len);
	wr_free(&oct);
	if (rc < 0)
		return rc;
	s->mid = 1;
	hdr_for(s, IKEV2_EXCH_IKE_AUTH, &h);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &e->sk_out);
	ikev2_put_id(&b, IKEV2_PL_IDi, &id);
	ikev2_put_auth(&b, IKEV2_AUTH_PSK, mac, mac_len);
	if (!g.childless)
		put_child(&b, i, false);
	ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		return -EIO;
	s->state = S_AUTH;
	return send_req(i, pkt, len);
}

static int send_child(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	s->mid++;
	hdr_for(s, IKEV2_EXCH_CREATE_CHILD_SA, &h);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &s->ex->sk_out);
	/* a rekey of the CHILD SA we have; childless: a new one */
	put_child(&b, i, true);
	ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		return -EIO;
	s->state = S_CHILD;
	return send_req(i, pkt, len);
}

/* RFC 7296 §2.8: the rekey's initiator deletes the old CHILD SA (our
 * inbound SPI names it). */
static int send_child_delete(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	struct ikev2_delete d = {
	    .proto = IKEV2_PROTO_ESP, .spi_len = 4, .nspi = 1};
	uint8_t spi[4];
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	ikev2_spi32_put(spi, s->old_spi);
	d.spis = spi;
	s->old_spi = 0;
	s->mid++;
	hdr_for(s, IKEV2_EXCH_INFORMATIONAL, &h);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &s->ex->sk_out);
	ikev2_put_delete(&b, &d);
	ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		return -EIO;
	s->state = S_CHDEL;
	return send_req(i, pkt, len);
}

static int send_delete(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	struct ikev2_delete d = {.proto = IKEV2_PROTO_IKE};
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt;
	size_t len;

	s->mid++;
	hdr_for(s, IKEV2_EXCH_INFORMATIONAL, &h);
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &s->ex->sk_out);
	ikev2_put_delete(&b, &d); /* RFC 7296 §1.4.1: the IKE SA */
	ikev2_sk_end(&b);
	if (ikev2_wr_finish(&b, &pkt, &len) < 0)
		return -EIO;
	s->state = S_DEL;
	return send_req(i, pkt, len);
}

/* After IKE_AUTH or a CREATE_CHILD_SA: the next exchange, or done. */
static void next_step(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	int rc = 0;

	if (s->rekeys_done < g.rekeys) {
		s->rekeys_done++;
		rc = send_child(i);
	} else if (g.del) {
		rc = send_delete(i);
	} else {
		finish(i, true, 0);
		return;
	}
	if (rc < 0)
		finish(i, false, F_LOCAL);
}

static void start_sa(uint32_t i)
{
	struct lsa *s = &g.sa[i];
	uint32_t r = 0;

	s->ex = calloc(1, sizeof(*s->ex));
	if (!s->ex || crypto_random(&r, sizeof(r)) < 0 ||
	    crypto_random(s->ex->ni, NONCE_LEN) < 0) {
		infl_add(i);
		finish(i, false, F_LOCAL);
		return;
	}
	/* SPIi: random high half, the SA's index in the low half (how a
	 * response finds its SA; §2.6 asks only for uniqueness). */
	s->spi_i = (uint64_t)(r | 1) << 32 | i;
	s->sock = i % g.nfd;
	s->t0 = now_ns();
	infl_add(i);
	g.started++;
	if (send_init(i) < 0)
		finish(i, false, F_LOCAL);
}

/* ---- responses ---- */

static bool error_notify(const struct ike_msg *m, uint16_t *type)
{
	struct ikev2_notify n;

	for (int k = ikev2_msg_next(m, IKEV2_PL_N, -1); k >= 0;
	     k = ikev2_msg_next(m, IKEV2_PL_N, k))
		if (ikev2_get_notify(&m->pl[k], &n) == 0 &&
		    n.type <= IKEV2_N_ERROR_MAX) {
			*type = n.type;
			return true;
		}
	return false;
}

static void on_init_resp(uint32_t i, const uint8_t *buf, size_t len)
{
	static struct ike_msg m;
	struct lsa *s = &g.sa[i];
	struct ex *e = s->ex;
	struct ikev2_notify n;
	struct ikev2_sa reply;
	struct ikev2_ke ke;
	struct ikev2_nonce no;
	const struct crypto_dh_alg *da = crypto_dh_lookup(g.group);
	uint8_t gir[CRYPTO_MAX_DH_SECRET];
	uint16_t et;
	int rc;

	if (ikev2_msg_parse(buf, len, &m) != 0)
		return; /* unauthenticated garbage: wait (§2.21.1) */
	if (ikev2_msg_find_notify(&m, IKEV2_N_COOKIE, &n) && n.len >= 1 &&
	    n.len <= sizeof(e->cookie) && !e->cookie_len) {
		memcpy(e->cookie, n.data, n.len);
		e->cookie_len = n.len;
		if (send_init(i) < 0)
			finish(i, false, F_LOCAL);
		return;
	}
	if (error_notify(&m, &et)) {
		finish(i, false, F_REFUSED);
		return;
	}
	if (ikev2_get_sa(ikev2_msg_find(&m, IKEV2_PL_SA), &reply) != 0 ||
	    ikev2_sa_check_reply(&g.offer, &reply, &e->suite) != 0 ||
	    ikev2_get_ke(ikev2_msg_find(&m, IKEV2_PL_KE), &ke) != 0 ||
	    ke.group != g.group ||
	    ikev2_get_nonce(ikev2_msg_find(&m, IKEV2_PL_NONCE), &no) != 0 ||
	    no.len > sizeof(e->nr) || !m.hdr.spi_r || !da) {
		finish(i, false, F_PROTO);
		return;
	}
	memcpy(e->nr, no.data, no.len);
	e->nr_len = no.len;
	s->spi_r = m.hdr.spi_r;
	if (g.unit_dh)
		rc = unitdh_secret(g.group, ke.data, ke.len, gir,
				   da->secret_len);
	else
		rc = crypto_dh_compute(g.fresh_dh ? e->dh : g.dh, ke.data,
				       ke.len, gir, da->secret_len);
	if (rc == 0)
		rc = ikev2_derive_ike_keys(&e->suite, gir, da->secret_len,
					   e->ni, NONCE_LEN, e->nr, e->nr_len,
					   s->spi_i, s->spi_r, &e->keys);
	mem_wipe(gir, sizeof(gir));
	if (rc == 0)
		rc = ikev2_sk_init(&e->sk_out, e->suite.encr, e->suite.integ,
				   e->keys.sk_ei, e->keys.encr_len,
				   e->keys.sk_ai, e->keys.integ_len, true);
	if (rc == 0) {
		rc = ikev2_sk_init(&e->sk_in, e->suite.encr, e->suite.integ,
				   e->keys.sk_er, e->keys.encr_len,
				   e->keys.sk_ar, e->keys.integ_len, false);
		if (rc < 0)
			ikev2_sk_free(&e->sk_out);
	}
	if (rc < 0) {
		finish(i, false, F_CRYPTO);
		return;
	}
	e->keyed = true;
	crypto_dh_free(e->dh);
	e->dh = NULL;
	if (send_auth(i) < 0)
		finish(i, false, F_LOCAL);
}

static void on_protected_resp(uint32_t i, const uint8_t *buf, size_t len)
{
	static struct ike_msg m;
	static uint8_t plain[IKEV2_MAX_MSG];
	struct lsa *s = &g.sa[i];
	uint16_t et;

	if (ikev2_msg_parse(buf, len, &m) != 0 ||
	    ikev2_sk_open(&s->ex->sk_in, &m, plain, sizeof(plain)) != 0)
		return; /* not verified: as if never received (§2.21.2) */
	if (error_notify(&m, &et)) {
		finish(i, false, F_REFUSED);
		return;
	}
	switch (s->state) {
	case S_AUTH:
		/* §1.2: IDr, AUTH (the codec's rules); the CHILD SA when
		 * we asked for one.  The ICV proves the keys; the
		 * responder's AUTH is not checked (not the load's cost). */
		if (!ikev2_msg_find(&m, IKEV2_PL_AUTH) ||
		    (!g.childless && !ikev2_msg_find(&m, IKEV2_PL_SA))) {
			finish(i, false, F_PROTO);
			return;
		}
		g.established++;
		g.lat_us[i] = (uint32_t)((now_ns() - s->t0) / 1000);
		next_step(i);
		return;
	case S_CHILD:
		if (!ikev2_msg_find(&m, IKEV2_PL_SA)) {
			finish(i, false, F_PROTO);
			return;
		}
		if (s->old_spi) {
			if (send_child_delete(i) < 0)
				finish(i, false, F_LOCAL);
			return;
		}
		next_step(i);
		return;
	case S_CHDEL:
		next_step(i);
		return;
	case S_DEL:
		finish(i, true, 0);
		return;
	default:
		return;
	}
}

/*
 * -H: a request from the responder on a held SA.  Only after its ICV
 * verifies under SK_er/SK_ar (§2.21.2: else as if never received); an
 * INFORMATIONAL gets an empty response with its message ID (§1.4: a
 * liveness check is answered so, and a DELETE's answer may be empty
 * when the SAs it names are gone here anyway, which they are: r2load
 * keeps no CHILD SAs).  Other requests are counted and dropped.
 */
static void on_request(uint32_t i, const struct ikev2_hdr *rh,
		       const uint8_t *buf, size_t len)
{
	static struct ike_msg m;
	static uint8_t plain[IKEV2_MAX_MSG];
	struct lsa *s = &g.sa[i];
	const uint8_t *k = g.hkeys + (size_t)i * g.hkl;
	struct ikev2_sk_ctx in, out;
	struct ikev2_hdr h;
	struct ikev2_wr b;
	uint8_t *pkt = NULL;
	size_t plen;
	int rc;

	if (rh->exch != IKEV2_EXCH_INFORMATIONAL) {
		g.req_other++;
		return;
	}
	if (ikev2_sk_init(&in, g.h_encr, g.h_integ, k + g.h_elen + g.h_alen,
			  g.h_elen, k + 2 * g.h_elen + g.h_alen, g.h_alen,
			  false) < 0)
		return;
	rc = ikev2_msg_parse(buf, len, &m);
	if (rc == 0)
		rc = ikev2_sk_open(&in, &m, plain, sizeof(plain));
	ikev2_sk_free(&in);
	if (rc != 0) {
		g.req_bad++;
		return;
	}
	if (ikev2_sk_init(&out, g.h_encr, g.h_integ, k, g.h_elen, k + g.h_elen,
			  g.h_alen, true) < 0)
		return;
	memset(&h, 0, sizeof(h));
	h.spi_i = s->spi_i;
	h.spi_r = s->spi_r;
	h.exch = IKEV2_EXCH_INFORMATIONAL;
	h.flags = IKEV2_FLAG_INITIATOR | IKEV2_FLAG_RESPONSE;
	h.msgid = rh->msgid;
	ikev2_wr_begin(&b, &h);
	ikev2_sk_begin(&b, &out);
	ikev2_sk_end(&b);
	rc = ikev2_wr_finish(&b, &pkt, &plen);
	ikev2_sk_free(&out);
	if (rc < 0)
		return;
	if (g.natt) {
		/* RFC 3948 §2.2: the non-ESP marker on port 4500 */
		uint8_t *mk = malloc(plen + 4);

		if (!mk) {
			free(pkt);
			return;
		}
		memset(mk, 0, 4);
		memcpy(mk + 4, pkt, plen);
		free(pkt);
		pkt = mk;
		plen += 4;
	}
	(void)sendto(g.fd[s->sock], pkt, plen, 0, dst_of(s), g.dst_len);
	free(pkt);
	g.answered++;
}

static void on_datagram(const uint8_t *buf, size_t len)
{
	struct rd r = rd_init(buf, len);
	struct ikev2_hdr h;
	struct lsa *s;
	uint32_t i;

	if (g.natt && len >= 4 && !buf[0] && !buf[1] && !buf[2] && !buf[3]) {
		buf += 4; /* non-ESP marker (RFC 3948 §2.2) */
		len -= 4;
		r = rd_init(buf, len);
	}
	if (ikev2_hdr_parse(&r, &h) < 0)
		return;
	i = (uint32_t)h.spi_i;
	if (i >= g.n)
		return;
	s = &g.sa[i];
	if (!(h.flags & IKEV2_FLAG_RESPONSE)) {
		/* the responder's request (§2.2: its own message IDs) */
		if (s->kept && s->spi_i == h.spi_i && s->spi_r == h.spi_r &&
		    !(h.flags & IKEV2_FLAG_INITIATOR))
			on_request(i, &h, buf, len);
		return;
	}
	if (s->spi_i != h.spi_i || h.msgid != s->mid || !s->ex)
		return;
	if (s->state == S_INIT && h.exch == IKEV2_EXCH_IKE_SA_INIT)
		on_init_resp(i, buf, len);
	else if (s->state > S_INIT && s->state < S_DONE && h.spi_r == s->spi_r)
		on_protected_resp(i, buf, len);
}

/* ---- the loop ---- */

static void retransmit(uint64_t now)
{
	uint64_t to = (uint64_t)g.timeout_ms * 1000000u;

	for (unsigned k = 0; k < g.ninfl;) {
		uint32_t i = g.infl[k];
		struct lsa *s = &g.sa[i];

		if (s->req && now - s->tsent >= to) {
			if (++s->tries >= g.tries) {
				finish(i, false, F_TIMEOUT);
				continue; /* slot k now holds another SA */
			}
			s->tsent = now;
			g.rtx++;
			(void)sendto(g.fd[s->sock], s->req, s->req_len, 0,
				     dst_of(s), g.dst_len);
		}
		k++;
	}
}

static void poll_once(int wait_ms)
{
	struct epoll_event evs[64];
	int ne = epoll_wait(g.ep, evs, 64, wait_ms);

	for (int k = 0; k < ne; k++) {
		int fd = g.fd[evs[k].data.u32];
		static uint8_t buf[IKEV2_MAX_MSG];

		for (int burst = 0; burst < 64; burst++) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			on_datagram(buf, (size_t)n);
		}
	}
}

/* -H: the SAs stay; the responder's requests are answered. */
static void hold(void)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)g.hold_s * 1000000000u;
	uint64_t next = t0 + 1000000000u, last = t0;
	unsigned base = g.answered; /* answered while setting up */

	g.answered_last = g.answered;
	fprintf(stderr, "r2load: holding %u SAs for %u s\n", g.kept, g.hold_s);
	while (!stop) {
		uint64_t now = now_ns();

		if (now >= end)
			break;
		poll_once(100);
		now = now_ns();
		if (now >= next) {
			double dt = (double)(now - last) / 1e9;

			if (!g.quiet)
				fprintf(
				    stderr,
				    "r2load: hold %6.1fs answered %u "
				    "(%.0f/s) other %u bad %u%s",
				    (double)(now - t0) / 1e9, g.answered,
				    dt > 0 ? (g.answered - g.answered_last) / dt
					   : 0.0,
				    g.req_other, g.req_bad,
				    isatty(2) ? "   \r" : "\n");
			g.answered_last = g.answered;
			last = now;
			next += 1000000000u;
		}
	}
	printf("r2load-hold: held=%u secs=%.1f answered=%u "
	       "answered_per_s=%.1f answered_in_setup=%u other=%u bad=%u\n",
	       g.kept, (double)(now_ns() - t0) / 1e9, g.answered - base,
	       (g.answered - base) / ((double)(now_ns() - t0) / 1e9), base,
	       g.req_other, g.req_bad);
	fflush(stdout);
}

static void progress(uint64_t now, bool last)
{
	double t = (double)(now - g.t_start) / 1e9;
	double dt = (double)(now - g.t_last_prog) / 1e9;

	if (!g.quiet || last)
		fprintf(stderr,
			"r2load: %6.1fs started %u established %u done %u "
			"failed %u in flight %u rtx %u  %.0f/s%s",
			t, g.started, g.established, g.done, g.failed, g.ninfl,
			g.rtx, dt > 0 ? (g.done - g.done_last) / dt : 0.0,
			isatty(2) && !last ? "   \r" : "\n");
	g.t_last_prog = now;
	g.done_last = g.done;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void summary(uint64_t end)
{
	double t = (double)(end - g.t_start) / 1e9;
	struct rusage ru;
	double cpu = 0;
	uint32_t *l = malloc(sizeof(*l) * (g.established ? g.established : 1));
	unsigned nl = 0;

	for (unsigned i = 0; l && i < g.n; i++)
		if (g.lat_us[i])
			l[nl++] = g.lat_us[i];
	if (l)
		qsort(l, nl, sizeof(*l), cmp_u32);
	/* r2load's own CPU: it must stay well below the responder's */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
#define PCT(p) (nl ? l[(size_t)((nl - 1) * (p))] / 1000.0 : 0.0)
	printf("r2load: n=%u established=%u ok=%u failed=%u secs=%.3f "
	       "setups_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	       "rtx=%u gen_cpu_ms=%.3f dh=%s",
	       g.n, g.established, g.done - g.failed, g.failed, t,
	       t > 0 ? g.established / t : 0.0, PCT(0.5), PCT(0.99), PCT(1.0),
	       g.rtx, g.done ? cpu * 1000 / g.done : 0.0,
	       g.unit_dh    ? "unit"
	       : g.fresh_dh ? "fresh"
			    : "reused");
	for (int k = 0; k < F_NFAIL; k++)
		if (g.fail_why[k])
			printf(" fail_%s=%u", fail_name[k], g.fail_why[k]);
	printf("\n");
	fflush(stdout);
	free(l);
}

static void open_sockets(void)
{
	unsigned k = 0;

	g.nfd = g.naddr * g.nport;
	if (g.nfd == 0 || g.nfd > MAX_SOCK)
		die("-a ADDRS x -P PORTS must be 1..65536 sockets");
	g.fd = calloc(g.nfd, sizeof(*g.fd));
	if (!g.fd)
		die("out of memory");
	for (unsigned a = 0; a < g.naddr; a++) {
		uint8_t addr[16];
		size_t al = g.af == AF_INET ? 4 : 16;
		uint32_t v;

		memcpy(addr, g.src, al);
		/* base + a in the low 32 bits */
		v = (uint32_t)addr[al - 4] << 24 |
		    (uint32_t)addr[al - 3] << 16 | (uint32_t)addr[al - 2] << 8 |
		    addr[al - 1];
		v += a;
		addr[al - 4] = (uint8_t)(v >> 24);
		addr[al - 3] = (uint8_t)(v >> 16);
		addr[al - 2] = (uint8_t)(v >> 8);
		addr[al - 1] = (uint8_t)v;
		for (unsigned p = 0; p < g.nport; p++, k++) {
			struct sockaddr_storage ss;
			socklen_t sl;
			int one = 1, fd, buf = 1 << 20;
			struct epoll_event ev = {.events = EPOLLIN};

			memset(&ss, 0, sizeof(ss));
			if (g.af == AF_INET) {
				struct sockaddr_in *s4 = (void *)&ss;
				s4->sin_family = AF_INET;
				memcpy(&s4->sin_addr, addr, 4);
				sl = sizeof(*s4);
			} else {
				struct sockaddr_in6 *s6 = (void *)&ss;
				s6->sin6_family = AF_INET6;
				memcpy(&s6->sin6_addr, addr, 16);
				sl = sizeof(*s6);
			}
			fd = socket(
			    g.af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				die("socket() failed (ulimit -n?)");
			(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one,
					 sizeof(one));
			if (g.af == AF_INET6)
				(void)setsockopt(fd, SOL_IPV6, IPV6_FREEBIND,
						 &one, sizeof(one));
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf,
					 sizeof(buf));
			if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
				char b[INET6_ADDRSTRLEN];
				inet_ntop(g.af, addr, b, sizeof(b));
				fprintf(stderr, "r2load: bind %s: %s\n", b,
					strerror(errno));
				exit(2);
			}
			ev.data.u32 = k;
			if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) < 0)
				die("epoll_ctl");
			g.fd[k] = fd;
		}
	}
}

static void setup_crypto(void)
{
	const struct crypto_dh_alg *da = crypto_dh_lookup(g.group);
	struct ikev2_prefs p = {0};

	if (!da)
		die("unknown DH group");
	if (g.unit_dh) {
		int rc = unitdh_public(g.group, g.ke, da->pub_len);

		if (rc == -ENOTSUP)
			die("-G: not with Curve25519/Curve448 (RFC 7748 "
			    "clamps the private scalar: 1 is no X25519/X448 "
			    "key); use the reused key pair (no -G)");
		if (rc < 0)
			die("-G: cannot get the group's generator");
	} else if (crypto_dh_new(g.group, &g.dh) < 0 ||
		   crypto_dh_public(g.dh, g.ke, da->pub_len) < 0) {
		die("DH key generation failed");
	}
	g.ke_len = da->pub_len;
	p.proto = IKEV2_PROTO_IKE;
	p.n_encr = 1;
	p.encr[0].id = g.ike_encr;
	p.encr[0].keybits = g.ike_keybits;
	p.n_prf = 1;
	p.prf[0] = IKEV2_PRF_HMAC_SHA2_256;
	if (!crypto_encr_lookup(g.ike_encr) ||
	    !crypto_encr_lookup(g.ike_encr)->aead) {
		p.n_integ = 1;
		p.integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	}
	p.n_dh = 1;
	p.dh[0] = g.group;
	if (ikev2_sa_build(&p, NULL, 0, &g.offer) < 0)
		die("cannot build the IKE proposal");
	memset(&g.esp, 0, sizeof(g.esp));
	g.esp.proto = IKEV2_PROTO_ESP;
	g.esp.n_encr = 1;
	g.esp.encr[0].id = g.esp_encr;
	g.esp.encr[0].keybits = g.esp_keybits;
	if (!crypto_encr_lookup(g.esp_encr) ||
	    !crypto_encr_lookup(g.esp_encr)->aead) {
		g.esp.n_integ = 1;
		g.esp.integ[0] = IKEV2_INTEG_HMAC_SHA2_256_128;
	}
	g.esp.n_esn = 1;
	g.esp.esn[0] = IKEV2_ESN_NO;
}

static uint16_t parse_group(const char *s)
{
	if (!strcmp(s, "ecp256") || !strcmp(s, "19"))
		return IKEV2_DH_ECP256;
	if (!strcmp(s, "curve25519") || !strcmp(s, "x25519") ||
	    !strcmp(s, "31"))
		return IKEV2_DH_CURVE25519;
	if (!strcmp(s, "modp2048") || !strcmp(s, "14"))
		return IKEV2_DH_MODP2048;
	if (!strcmp(s, "ecp384") || !strcmp(s, "20"))
		return IKEV2_DH_ECP384;
	if (!strcmp(s, "modp3072") || !strcmp(s, "15"))
		return IKEV2_DH_MODP3072;
	die("-g: ecp256, curve25519, modp2048, ecp384 or modp3072");
	return 0;
}

static void set_cipher(const char *s, uint16_t *id, uint16_t *bits)
{
	if (!strcmp(s, "aes128gcm16")) {
		*id = IKEV2_ENCR_AES_GCM_16, *bits = 128;
	} else if (!strcmp(s, "aes256gcm16")) {
		*id = IKEV2_ENCR_AES_GCM_16, *bits = 256;
	} else if (!strcmp(s, "aes128")) {
		*id = IKEV2_ENCR_AES_CBC, *bits = 128;
	} else if (!strcmp(s, "aes256")) {
		*id = IKEV2_ENCR_AES_CBC, *bits = 256;
	} else {
		die("cipher: aes128gcm16, aes256gcm16, aes128 or aes256 "
		    "(CBC with HMAC-SHA2-256-128)");
	}
}

static void usage(void)
{
	fputs(
	    "usage: r2load -t TARGET -k PSKFILE [options]\n"
	    "  -t ADDR        responder address (IPv4 or IPv6)\n"
	    "  -p PORT        responder port [500]\n"
	    "  -s ADDR        first source address [unspecified: the route's]\n"
	    "  -a N           source addresses (ADDR, ADDR+1, ...) [1]\n"
	    "  -P N           sockets (ports) per source address [1]\n"
	    "  -n N           IKE SAs to set up [1000]\n"
	    "  -c N           at most N in flight [64]\n"
	    "  -r RATE        offered setups/s (0 = as fast as possible) [0]\n"
	    "  -g GROUP       ecp256|curve25519|modp2048|ecp384|modp3072 "
	    "[ecp256]\n"
	    "  -e CIPHER      IKE cipher [aes256gcm16]; -E CIPHER ESP cipher\n"
	    "  -I FMT         IDi, FQDN, %u = SA index [r2load-%u.bench]\n"
	    "  -k FILE        PSK (first line)\n"
	    "  -C             childless IKE SAs (RFC 6023)\n"
	    "  -R N           CREATE_CHILD_SA exchanges per SA after IKE_AUTH\n"
	    "  -D             DELETE each IKE SA at the end\n"
	    "  -F             fresh DH key pair per SA (default: one for all)\n"
	    "  -G             DH private value 1: send the group's generator,\n"
	    "                 g^ir = the responder's public value (no DH work\n"
	    "                 here; ECP and MODP only, refused for "
	    "Curve25519/448)\n"
	    "  -T MS          retransmission timeout [2000]; -N TRIES [3]\n"
	    "  -i ADDR6       base of the per-SA TSi /128s "
	    "[2001:db8:ff00::]\n"
	    "  -U             claim a NAT (NAT-D), IKE_AUTH onward on port "
	    "4500:\n"
	    "                 ESP in UDP (RFC 3948), e.g. for kernel-libipsec\n"
	    "  -H SECS        hold the SAs SECS after the last setup, "
	    "answering the\n"
	    "                 responder's INFORMATIONAL requests (DPD)\n"
	    "  -q             no progress line\n",
	    stderr);
	exit(2);
}

static void read_psk(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		die("cannot open the PSK file");
	n = fread(g.psk, 1, sizeof(g.psk) - 1, f);
	fclose(f);
	while (n && (g.psk[n - 1] == '\n' || g.psk[n - 1] == '\r'))
		n--;
	if (!n)
		die("empty PSK");
	g.psk_len = n;
}

static bool parse_addr(const char *s, uint8_t *out, int *af)
{
	if (inet_pton(AF_INET6, s, out) == 1) {
		*af = AF_INET6;
		return true;
	}
	if (inet_pton(AF_INET, s, out) == 1) {
		*af = AF_INET;
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *target = NULL, *src = NULL, *pskf = NULL;
	unsigned port = 500;
	int opt, saf = 0;
	uint64_t next_prog;

	g.n = 1000;
	g.window = 64;
	g.naddr = g.nport = 1;
	g.group = IKEV2_DH_ECP256;
	g.ike_encr = g.esp_encr = IKEV2_ENCR_AES_GCM_16;
	g.ike_keybits = g.esp_keybits = 256;
	g.id_fmt = "r2load-%u.bench";
	g.timeout_ms = 2000;
	g.tries = 3;
	inet_pton(AF_INET6, "2001:db8:ff00::", g.ts_base);
	while ((opt = getopt(argc, argv,
			     "t:p:s:a:P:n:c:r:g:e:E:I:k:CR:DFGT:N:i:qUH:h")) !=
	       -1) {
		switch (opt) {
		case 't':
			target = optarg;
			break;
		case 'p':
			port = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 's':
			src = optarg;
			break;
		case 'a':
			g.naddr = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			g.nport = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			g.n = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			g.window = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			g.rate = strtod(optarg, NULL);
			break;
		case 'g':
			g.group = parse_group(optarg);
			break;
		case 'e':
			set_cipher(optarg, &g.ike_encr, &g.ike_keybits);
			break;
		case 'E':
			set_cipher(optarg, &g.esp_encr, &g.esp_keybits);
			break;
		case 'I':
			g.id_fmt = optarg;
			break;
		case 'k':
			pskf = optarg;
			break;
		case 'C':
			g.childless = true;
			break;
		case 'R':
			g.rekeys = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'D':
			g.del = true;
			break;
		case 'F':
			g.fresh_dh = true;
			break;
		case 'G':
			g.unit_dh = true;
			break;
		case 'T':
			g.timeout_ms = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			g.tries = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			if (inet_pton(AF_INET6, optarg, g.ts_base) != 1)
				die("-i: an IPv6 address");
			break;
		case 'q':
			g.quiet = true;
			break;
		case 'U':
			g.natt = true;
			break;
		case 'H':
			g.hold = true;
			g.hold_s = (unsigned)strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (!target || !pskf || !g.n || !g.window || !g.tries ||
	    g.n > 0x7fffffffu || (g.hold && g.del))
		usage();
	if (g.fresh_dh && g.unit_dh)
		die("-F and -G exclude each other (-G has no key pair)");
	/* -I is a format with one %u and nothing else */
	{
		const char *p = strchr(g.id_fmt, '%');
		if (p && (p[1] != 'u' || strchr(p + 2, '%')))
			die("-I: at most one %u, no other conversion");
	}
	read_psk(pskf);
	memset(&g.dst, 0, sizeof(g.dst));
	{
		uint8_t a[16];
		if (!parse_addr(target, a, &g.af))
			die("-t: not an address");
		if (g.af == AF_INET) {
			struct sockaddr_in *s4 = (void *)&g.dst;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			memcpy(&s4->sin_addr, a, 4);
			g.dst_len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (void *)&g.dst;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			memcpy(&s6->sin6_addr, a, 16);
			g.dst_len = sizeof(*s6);
		}
		g.dst4500 = g.dst;
		if (g.af == AF_INET)
			((struct sockaddr_in *)&g.dst4500)->sin_port =
			    htons(4500);
		else
			((struct sockaddr_in6 *)&g.dst4500)->sin6_port =
			    htons(4500);
	}
	if (src && (!parse_addr(src, g.src, &saf) || saf != g.af))
		die("-s: an address of the target's family");
	if (!src && g.naddr != 1)
		die("-a needs -s");
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	setup_crypto();
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1");
	open_sockets();
	g.sa = calloc(g.n, sizeof(*g.sa));
	g.lat_us = calloc(g.n, sizeof(*g.lat_us));
	g.infl = calloc(g.n, sizeof(*g.infl));
	if (!g.sa || !g.lat_us || !g.infl)
		die("out of memory");
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGUSR1, on_usr1);
	signal(SIGPIPE, SIG_IGN);

	g.t_start = g.t_last_prog = now_ns();
	next_prog = g.t_start + 1000000000u;
	while (!stop && g.done < (cut ? g.started : g.n)) {
		uint64_t now = now_ns();

		/* start new SAs: window and offered rate */
		while (!cut && g.started < g.n && g.ninfl < g.window) {
			if (g.rate > 0 &&
			    g.started >= (unsigned)((double)(now - g.t_start) /
						    1e9 * g.rate) +
					     1)
				break;
			start_sa(g.started);
		}
		poll_once(10);
		now = now_ns();
		retransmit(now);
		if (now >= next_prog) {
			progress(now, false);
			next_prog += 1000000000u;
		}
	}
	progress(now_ns(), true);
	summary(now_ns());
	if (g.hold && !stop)
		hold();
	if (g.hkeys)
		mem_wipe(g.hkeys, (size_t)g.n * g.hkl);
	return g.failed || stop ? 1 : 0;
}
