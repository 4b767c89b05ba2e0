/*
 * ctl.c - iked's control socket (ikedctl's server side).
 *
 * Protocol: a client connects to the UNIX stream socket, writes one
 * request line ("show sa json\n", "initiate REMOTE\n", ...) and reads
 * the reply until EOF.  The reply's first line is "0 ok" or "1 <error>"
 * (the exit status ikedctl will use), followed by the body.  Requests
 * are untrusted input: read through the rd cursor, at most
 * CTL_MAX_LINE octets, words separated by blanks.
 *
 * The socket (lib/ctlsock.h) is created mode 0600 before bind (root
 * only: it can tear down SAs), a running iked's socket is never replaced,
 * and each client's SO_PEERCRED uid must be 0 or iked's euid.  Limits:
 * CTL_MAX_CONNS clients, a request of at most CTL_MAX_LINE octets, an
 * answer of at most CTL_OUT_MAX octets (256 MiB; a larger one is refused with
 * "1 answer too large", logged), CTL_TIMEOUT_MS for the request and
 * again for each stall while the answer is read.
 * Ownership: the connections are lib/ctlsrv.h's (the one request/answer
 * server, shared with kinkd), freed when the answer is written, on error
 * or timeout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/v1.h"
#include "lib/ctlsrv.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/util.h"
#include "lib/wr.h"

#define MOD	      "ctl"
#define CTL_MAX_LINE  1024
#define CTL_MAX_WORDS 8
/* Largest answer: "show sa json" takes ~700 octets per IKE SA with a
 * CHILD SA, so 256 MiB is ~380,000 of them: a gateway holding 100,000 SAs
 * can list them (1 MiB stopped at ~1,500).  An answer's buffer grows with
 * what is written, so the memory is that of the answers really asked for;
 * only root (or iked's euid) can ask. */
#define CTL_OUT_MAX (256u << 20)

static void wprintf_(struct wr *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void wprintf_(struct wr *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	wr_bytes(w, buf, (size_t)n);
}

/* JSON string escape of printable text. */
static void wjson_str(struct wr *w, const char *s)
{
	wr_u8(w, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			wr_u8(w, '\\');
			wr_u8(w, c);
		} else if (c < 0x20 || c >= 0x7f) {
			wprintf_(w, "\\u%04x", c);
		} else {
			wr_u8(w, c);
		}
	}
	wr_u8(w, '"');
}

/* IPCOMP transform IDs, RFC 7296 §3.10.1 */
static const char *ipcomp_str(uint8_t id)
{
	return id == IKEV2_IPCOMP_DEFLATE ? "deflate"
	       : id == IKEV2_IPCOMP_LZS	  ? "lzs"
	       : id == IKEV2_IPCOMP_OUI	  ? "oui"
					  : "unknown";
}

static const char *encr_str(uint16_t id, uint16_t bits, char *buf, size_t len)
{
	if (!id)
		return "none";
	if (bits)
		snprintf(buf, len, "%s-%u", crypto_encr_name(id), bits);
	else
		snprintf(buf, len, "%s", crypto_encr_name(id));
	return buf;
}

/* One side of a negotiated TS: "addr/plen[port]/proto". */
static const char *ts_str(const struct ksel *s, bool local, char *buf,
			  size_t len)
{
	const struct kaddr *a = local ? &s->src : &s->dst;
	uint16_t port = local ? s->sport : s->dport;
	uint16_t mask = local ? s->sport_mask : s->dport_mask;
	char ab[64], pb[16] = "any", prb[16] = "any";

	if (!s->af) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (mask)
		snprintf(pb, sizeof(pb), "%u", port);
	if (s->proto)
		snprintf(prb, sizeof(prb), "%u", s->proto);
	snprintf(buf, len, "%s/%u[%s]/%s", kaddr_str(a, ab, sizeof(ab)),
		 local ? s->src_plen : s->dst_plen, pb, prb);
	return buf;
}

static void child_counters(struct iked *d, const struct child_sa *c,
			   struct kcounters *in, struct kcounters *out)
{
	memset(in, 0, sizeof(*in));
	memset(out, 0, sizeof(*out));
	if (!d->kern_open)
		return;
	if (c->in_installed)
		k_sa_query(&d->kern, c->proto, &c->ike->local.addr, c->spi_in,
			   in);
	if (c->out_installed)
		k_sa_query(&d->kern, c->proto, &c->ike->peer.addr, c->spi_out,
			   out);
}

/* IKEv1 ISAKMP SAs and their CHILD SAs (v1.c) */
static void v1_child_counters(struct iked *d, const struct v1_sa *v,
			      const struct v1_child *c, struct kcounters *in,
			      struct kcounters *out)
{
	memset(in, 0, sizeof(*in));
	memset(out, 0, sizeof(*out));
	if (!d->kern_open)
		return;
	if (c->in_installed)
		k_sa_query(&d->kern, c->proto, &v->local.addr, c->spi_in, in);
	if (c->out_installed)
		k_sa_query(&d->kern, c->proto, &v->peer.addr, c->spi_out, out);
}

static void v1_sa_info(const struct v1_sa *v, uint64_t *ci, uint64_t *cr,
		       const struct ikev1_keys **k)
{
	*ci = *cr = 0;
	*k = NULL;
	if (!v->e)
		return;
	ikev1_sa_cookies(v->e, ci, cr);
	if (v->established)
		*k = ikev1_sa_keys(v->e);
}

static void show_text_v1(struct iked *d, struct wr *w)
{
	uint64_t now = ev_now_ms();
	const struct v1_sa *v;
	char b1[96], b2[96], b3[300], b4[300], b5[64];

	for (v = d->v1sas; v; v = v->next) {
		const struct ikev1_keys *k;
		const struct v1_child *c;
		uint64_t ci, cr;
		if (v->dead)
			continue;
		v1_sa_info(v, &ci, &cr, &k);
		wprintf_(w,
			 "IKEv1 #%u %s remote=%s %s local=%s peer=%s%s "
			 "icookie=%016llx rcookie=%016llx\n",
			 v->id, v->established ? "ESTABLISHED" : "NEGOTIATING",
			 v->remote, v->initiator ? "initiator" : "responder",
			 ike_ep_str(&v->local, b1, sizeof(b1)),
			 ike_ep_str(&v->peer, b2, sizeof(b2)),
			 v->natt ? " natt" : "", (unsigned long long)ci,
			 (unsigned long long)cr);
		wprintf_(w, "    mode=%s auth=psk enc=%s prf=%s age=%llus\n",
			 v->aggressive ? "aggressive" : "main",
			 k ? encr_str(k->encr, k->keybits, b5, sizeof(b5))
			   : "none",
			 k ? crypto_prf_name(k->prf) : "none",
			 (unsigned long long)((now - v->created_ms) / 1000));
		for (c = v->children; c; c = c->next) {
			struct kcounters in, out;
			v1_child_counters(d, v, c, &in, &out);
			wprintf_(
			    w,
			    "  CHILD #%u INSTALLED policy=%s tunnel %s "
			    "reqid=%u spi_in=%08x spi_out=%08x enc=%s "
			    "integ=%s pfs=%s age=%llus bytes_in=%llu "
			    "bytes_out=%llu\n",
			    c->id, c->policy,
			    c->proto == IPPROTO_AH ? "ah" : "esp", c->reqid,
			    c->spi_in, c->spi_out,
			    encr_str(c->encr, c->keybits, b5, sizeof(b5)),
			    crypto_integ_name(c->integ), c->pfs ? "yes" : "no",
			    (unsigned long long)((now - c->created_ms) / 1000),
			    (unsigned long long)in.bytes,
			    (unsigned long long)out.bytes);
			if (c->ah) /* AH beside ESP */
				wprintf_(w,
					 "    ah spi_in=%08x spi_out=%08x "
					 "integ=%s\n",
					 c->ah_spi_in, c->ah_spi_out,
					 crypto_integ_name(c->ah_integ));
			if (c->ipcomp)
				wprintf_(w,
					 "    ipcomp=%s cpi_in=%04x "
					 "cpi_out=%04x\n",
					 ipcomp_str(c->ipcomp), c->cpi_in,
					 c->cpi_out);
			wprintf_(w, "    ts_local=%s ts_remote=%s%s\n",
				 ts_str(&c->ts_local, true, b3, sizeof(b3)),
				 ts_str(&c->ts_remote, false, b4, sizeof(b4)),
				 c->udp_encap ? " udp_encap" : "");
		}
	}
}

static void show_json_v1(struct iked *d, struct wr *w, bool first)
{
	uint64_t now = ev_now_ms();
	const struct v1_sa *v;
	char b[300];

	for (v = d->v1sas; v; v = v->next) {
		const struct ikev1_keys *k;
		const struct v1_child *c;
		bool cfirst = true;
		uint64_t ci, cr;
		if (v->dead)
			continue;
		v1_sa_info(v, &ci, &cr, &k);
		wprintf_(w,
			 "%s{\"id\":%u,\"version\":1,\"state\":\"%s\","
			 "\"remote\":",
			 first ? "" : ",", v->id,
			 v->established ? "ESTABLISHED" : "NEGOTIATING");
		first = false;
		wjson_str(w, v->remote);
		wprintf_(w, ",\"role\":\"%s\",\"local\":",
			 v->initiator ? "initiator" : "responder");
		wjson_str(w, ike_ep_str(&v->local, b, sizeof(b)));
		wprintf_(w, ",\"peer\":");
		wjson_str(w, ike_ep_str(&v->peer, b, sizeof(b)));
		wprintf_(w,
			 ",\"natt\":%s,\"icookie\":\"%016llx\","
			 "\"rcookie\":\"%016llx\",\"exchange_mode\":"
			 "\"%s\",\"auth\":\"psk\",\"enc\":",
			 v->natt ? "true" : "false", (unsigned long long)ci,
			 (unsigned long long)cr,
			 v->aggressive ? "aggressive" : "main");
		wjson_str(w, k ? encr_str(k->encr, k->keybits, b, sizeof(b))
			       : "none");
		wprintf_(w, ",\"prf\":");
		wjson_str(w, k ? crypto_prf_name(k->prf) : "none");
		{
			/* what the engine dropped for this SA (malformed,
			 * HASH mismatch, replayed M-IDs) */
			const struct ikev1_stats *st =
			    v->e ? ikev1_sa_stats(v->e) : NULL;
			wprintf_(w,
				 ",\"dropped\":%llu,\"auth_failed\":%llu,"
				 "\"replayed\":%llu",
				 st ? (unsigned long long)st->dropped : 0ull,
				 st ? (unsigned long long)st->auth_failed
				    : 0ull,
				 st ? (unsigned long long)st->replayed : 0ull);
		}
		wprintf_(w, ",\"age\":%llu,\"children\":[",
			 (unsigned long long)((now - v->created_ms) / 1000));
		for (c = v->children; c; c = c->next) {
			struct kcounters in, out;
			v1_child_counters(d, v, c, &in, &out);
			wprintf_(w,
				 "%s{\"id\":%u,\"state\":\"INSTALLED\","
				 "\"policy\":",
				 cfirst ? "" : ",", c->id);
			cfirst = false;
			wjson_str(w, c->policy);
			wprintf_(w,
				 ",\"mode\":\"tunnel\",\"protocol\":\"%s\","
				 "\"reqid\":%u,"
				 "\"spi_in\":\"%08x\",\"spi_out\":"
				 "\"%08x\",",
				 c->proto == IPPROTO_AH ? "ah" : "esp",
				 c->reqid, c->spi_in, c->spi_out);
			if (c->ah) /* AH beside ESP */
				wprintf_(w,
					 "\"ah_spi_in\":\"%08x\","
					 "\"ah_spi_out\":\"%08x\","
					 "\"ah_integ\":\"%s\",",
					 c->ah_spi_in, c->ah_spi_out,
					 crypto_integ_name(c->ah_integ));
			if (c->ipcomp)
				wprintf_(w,
					 "\"ipcomp\":\"%s\",\"cpi_in\":"
					 "\"%04x\",\"cpi_out\":\"%04x\",",
					 ipcomp_str(c->ipcomp), c->cpi_in,
					 c->cpi_out);
			wprintf_(w, "\"enc\":");
			wjson_str(w,
				  encr_str(c->encr, c->keybits, b, sizeof(b)));
			wprintf_(w, ",\"integ\":");
			wjson_str(w, crypto_integ_name(c->integ));
			wprintf_(w,
				 ",\"pfs\":%s,\"udp_encap\":%s,"
				 "\"ts_local\":",
				 c->pfs ? "true" : "false",
				 c->udp_encap ? "true" : "false");
			wjson_str(w, ts_str(&c->ts_local, true, b, sizeof(b)));
			wprintf_(w, ",\"ts_remote\":");
			wjson_str(w,
				  ts_str(&c->ts_remote, false, b, sizeof(b)));
			wprintf_(
			    w,
			    ",\"age\":%llu,\"bytes_in\":%llu,"
			    "\"bytes_out\":%llu}",
			    (unsigned long long)((now - c->created_ms) / 1000),
			    (unsigned long long)in.bytes,
			    (unsigned long long)out.bytes);
		}
		wprintf_(w, "]}");
	}
}

static void show_text(struct iked *d, struct wr *w)
{
	uint64_t now = ev_now_ms();
	struct ike_sa *sa;
	char b1[96], b2[96], b3[300], b4[300], b5[64];

	for (sa = d->sas; sa; sa = sa->next) {
		struct child_sa *c;
		if (sa->state == IKE_S_DEAD)
			continue;
		wprintf_(w,
			 "IKE #%u %s remote=%s %s local=%s peer=%s%s "
			 "spi_i=%016llx spi_r=%016llx\n",
			 sa->id, ike_state_name(sa->state), sa->remote,
			 sa->initiator ? "initiator" : "responder",
			 ike_ep_str(&sa->local, b1, sizeof(b1)),
			 ike_ep_str(&sa->peer, b2, sizeof(b2)),
			 sa->natt ? " natt" : "", (unsigned long long)sa->spi_i,
			 (unsigned long long)sa->spi_r);
		wprintf_(w,
			 "    id_local=%s id_peer=%s enc=%s prf=%s integ=%s "
			 "dh=%s age=%llus\n",
			 ike_id_str(&sa->id_local, b3, sizeof(b3)),
			 ike_id_str(&sa->id_peer, b4, sizeof(b4)),
			 encr_str(sa->algs.encr, sa->algs.encr_keybits, b5,
				  sizeof(b5)),
			 sa->algs.prf ? crypto_prf_name(sa->algs.prf) : "none",
			 sa->algs.integ ? crypto_integ_name(sa->algs.integ)
					: "none",
			 sa->algs.dh ? crypto_dh_name(sa->algs.dh) : "none",
			 (unsigned long long)((now - sa->created_ms) / 1000));
		for (c = sa->children; c; c = c->next) {
			struct kcounters in, out;
			child_counters(d, c, &in, &out);
			wprintf_(
			    w,
			    "  CHILD #%u %s policy=%s %s reqid=%u "
			    "spi_in=%08x spi_out=%08x enc=%s integ=%s "
			    "esn=%s age=%llus bytes_in=%llu "
			    "bytes_out=%llu proto=%s\n",
			    c->id, child_state_name(c->state), c->policy,
			    c->mode == KMODE_TUNNEL ? "tunnel" : "transport",
			    c->reqid, c->spi_in, c->spi_out,
			    encr_str(c->algs.encr, c->algs.encr_keybits, b5,
				     sizeof(b5)),
			    c->algs.integ ? crypto_integ_name(c->algs.integ)
					  : "none",
			    c->algs.esn ? "yes" : "no",
			    (unsigned long long)((now - c->created_ms) / 1000),
			    (unsigned long long)in.bytes,
			    (unsigned long long)out.bytes,
			    c->proto == IPPROTO_AH ? "ah" : "esp");
			wprintf_(w, "    ts_local=%s ts_remote=%s%s%s\n",
				 ts_str(&c->ts_local, true, b3, sizeof(b3)),
				 ts_str(&c->ts_remote, false, b4, sizeof(b4)),
				 c->install_err[0] ? " error=" : "",
				 c->install_err);
			if (c->ipcomp) /* RFC 7296 §2.22 */
				wprintf_(w,
					 "    ipcomp=%s cpi_in=%04x "
					 "cpi_out=%04x\n",
					 ipcomp_str(c->ipcomp), c->cpi_in,
					 c->cpi_out);
		}
	}
	show_text_v1(d, w);
}

static void show_json(struct iked *d, struct wr *w)
{
	uint64_t now = ev_now_ms();
	struct ike_sa *sa;
	bool first = true;
	char b[300];

	wprintf_(w, "{\"ike_sas\":[");
	for (sa = d->sas; sa; sa = sa->next) {
		struct child_sa *c;
		bool cfirst = true;
		if (sa->state == IKE_S_DEAD)
			continue;
		wprintf_(w,
			 "%s{\"id\":%u,\"version\":2,\"state\":\"%s\","
			 "\"remote\":",
			 first ? "" : ",", sa->id, ike_state_name(sa->state));
		first = false;
		wjson_str(w, sa->remote);
		wprintf_(w, ",\"role\":\"%s\",\"local\":",
			 sa->initiator ? "initiator" : "responder");
		wjson_str(w, ike_ep_str(&sa->local, b, sizeof(b)));
		wprintf_(w, ",\"peer\":");
		wjson_str(w, ike_ep_str(&sa->peer, b, sizeof(b)));
		wprintf_(w,
			 ",\"natt\":%s,\"spi_i\":\"%016llx\","
			 "\"spi_r\":\"%016llx\",\"id_local\":",
			 sa->natt ? "true" : "false",
			 (unsigned long long)sa->spi_i,
			 (unsigned long long)sa->spi_r);
		wjson_str(w, ike_id_str(&sa->id_local, b, sizeof(b)));
		wprintf_(w, ",\"id_peer\":");
		wjson_str(w, ike_id_str(&sa->id_peer, b, sizeof(b)));
		wprintf_(w, ",\"enc\":");
		wjson_str(w, encr_str(sa->algs.encr, sa->algs.encr_keybits, b,
				      sizeof(b)));
		wprintf_(w, ",\"prf\":");
		wjson_str(w, sa->algs.prf ? crypto_prf_name(sa->algs.prf)
					  : "none");
		wprintf_(w, ",\"integ\":");
		wjson_str(w, sa->algs.integ ? crypto_integ_name(sa->algs.integ)
					    : "none");
		wprintf_(w, ",\"dh\":");
		wjson_str(w,
			  sa->algs.dh ? crypto_dh_name(sa->algs.dh) : "none");
		wprintf_(w,
			 ",\"frag\":%s,\"frags_sent\":%llu,"
			 "\"frags_rcvd\":%llu,\"frags_refused\":%llu,"
			 "\"children_moved\":%u",
			 sa->frag ? "true" : "false",
			 (unsigned long long)sa->frags_sent,
			 (unsigned long long)sa->frags_rcvd,
			 (unsigned long long)sa->frags_refused,
			 sa->children_moved);
		wprintf_(w, ",\"age\":%llu,\"children\":[",
			 (unsigned long long)((now - sa->created_ms) / 1000));
		for (c = sa->children; c; c = c->next) {
			struct kcounters in, out;
			child_counters(d, c, &in, &out);
			wprintf_(w, "%s{\"id\":%u,\"state\":\"%s\",\"policy\":",
				 cfirst ? "" : ",", c->id,
				 child_state_name(c->state));
			cfirst = false;
			wjson_str(w, c->policy);
			wprintf_(w,
				 ",\"mode\":\"%s\",\"proto\":\"%s\","
				 "\"reqid\":%u,"
				 "\"spi_in\":\"%08x\",\"spi_out\":\"%08x\",",
				 c->mode == KMODE_TUNNEL ? "tunnel"
							 : "transport",
				 c->proto == IPPROTO_AH ? "ah" : "esp",
				 c->reqid, c->spi_in, c->spi_out);
			if (c->ipcomp) /* RFC 7296 §2.22 */
				wprintf_(w,
					 "\"ipcomp\":\"%s\",\"cpi_in\":"
					 "\"%04x\",\"cpi_out\":\"%04x\",",
					 ipcomp_str(c->ipcomp), c->cpi_in,
					 c->cpi_out);
			wprintf_(w, "\"enc\":");
			wjson_str(w,
				  encr_str(c->algs.encr, c->algs.encr_keybits,
					   b, sizeof(b)));
			wprintf_(w, ",\"integ\":");
			wjson_str(w, c->algs.integ
					 ? crypto_integ_name(c->algs.integ)
					 : "none");
			wprintf_(w, ",\"esn\":%s,\"ts_local\":",
				 c->algs.esn ? "true" : "false");
			wjson_str(w, ts_str(&c->ts_local, true, b, sizeof(b)));
			wprintf_(w, ",\"ts_remote\":");
			wjson_str(w,
				  ts_str(&c->ts_remote, false, b, sizeof(b)));
			wprintf_(w, ",\"error\":");
			wjson_str(w, c->install_err);
			wprintf_(
			    w,
			    ",\"age\":%llu,\"bytes_in\":%llu,"
			    "\"bytes_out\":%llu}",
			    (unsigned long long)((now - c->created_ms) / 1000),
			    (unsigned long long)in.bytes,
			    (unsigned long long)out.bytes);
		}
		wprintf_(w, "]}");
	}
	show_json_v1(d, w, first);
	wprintf_(w, "]}\n");
}

/* Resource limits and what they refused (dos.c). */
static void show_stats(struct iked *d, struct wr *w, bool json)
{
	const struct dos_stats *st = &d->dos.st;
	const struct ike_cfg *c = d->cfg;
	unsigned ike = 0, est = 0, child = 0;
	const struct ike_sa *sa;
	const struct child_sa *ch;

	for (sa = d->sas; sa; sa = sa->next) {
		if (sa->state == IKE_S_DEAD)
			continue;
		ike++;
		est += sa->state == IKE_S_ESTABLISHED;
		for (ch = sa->children; ch; ch = ch->next)
			child++;
	}
	wprintf_(w,
		 json ? "{\"ike_sas\":%u,\"established\":%u,"
			"\"child_sas\":%u,\"half_open\":%u,"
			"\"half_open_peak\":%u,\"half_open_prefixes\":%u,"
			"\"half_open_timeout_ms\":%u,"
		      : "ike_sas %u established %u child_sas %u\n"
			"half_open %u peak %u prefixes %u timeout_ms %u\n",
		 ike, est, child, d->half_open, st->half_open_peak,
		 d->dos.nbuckets, dos_ho_timeout_ms(d));
	wprintf_(w,
		 json ? "\"limits\":{\"cookie_threshold\":%u,"
			"\"half_open_max\":%u,\"half_open_per_addr\":%u,"
			"\"half_open_per_prefix\":%u,"
			"\"half_open_timeout_ms\":%u,\"sa_per_id\":%u,"
			"\"child_sa_per_ike_sa\":%u,\"half_open_rate\":%u},"
		      : "limits cookie_threshold %u half_open_max %u "
			"per_addr %u per_prefix %u timeout_ms %u "
			"sa_per_id %u child_sa_per_ike_sa %u rate %u\n",
		 c->cookie_threshold, c->half_open_max, c->half_open_per_addr,
		 c->half_open_per_prefix, c->half_open_timeout_ms, c->sa_per_id,
		 c->child_per_sa, c->half_open_rate);
	wprintf_(w,
		 json ? "\"counters\":{\"cookies_sent\":%llu,"
			"\"cookies_bad\":%llu,\"refused_addr\":%llu,"
			"\"refused_prefix\":%llu,\"refused_table\":%llu,"
			"\"refused_rate\":%llu,"
			"\"refused_size\":%llu,\"displaced\":%llu,"
			"\"expired\":%llu,\"refused_id\":%llu,"
			"\"refused_child\":%llu}}\n"
		      : "cookies_sent %llu cookies_bad %llu\n"
			"refused_addr %llu refused_prefix %llu "
			"refused_table %llu refused_rate %llu "
			"refused_size %llu\n"
			"displaced %llu expired %llu refused_id %llu "
			"refused_child %llu\n",
		 (unsigned long long)st->cookies_sent,
		 (unsigned long long)st->cookies_bad,
		 (unsigned long long)st->refused_addr,
		 (unsigned long long)st->refused_prefix,
		 (unsigned long long)st->refused_table,
		 (unsigned long long)st->refused_rate,
		 (unsigned long long)st->refused_size,
		 (unsigned long long)st->displaced,
		 (unsigned long long)st->expired,
		 (unsigned long long)st->refused_id,
		 (unsigned long long)st->refused_child);
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 0);
	if (errno || *end || end == s || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static struct ike_sa *sa_by_id(struct iked *d, uint32_t id)
{
	struct ike_sa *sa;

	for (sa = d->sas; sa; sa = sa->next)
		if (sa->id == id && sa->state != IKE_S_DEAD)
			return sa;
	return NULL;
}

/* "ike N" / "child N" / "remote NAME" / "all" selection for
 * delete and rekey. */
static int ctl_sa_op(struct iked *d, bool rekey, int argc, char **argv,
		     struct wr *body, char *err, size_t errlen)
{
	uint32_t id;
	struct ike_sa *sa, *next;
	unsigned n = 0;

	if (argc < 1) {
		snprintf(err, errlen,
			 "usage: %s ike ID | child ID | remote "
			 "NAME | all",
			 rekey ? "rekey" : "delete");
		return -EINVAL;
	}
	if (strcmp(argv[0], "child") == 0) {
		struct child_sa *c;
		if (argc != 2 || parse_u32(argv[1], &id) < 0) {
			snprintf(err, errlen, "bad child id");
			return -EINVAL;
		}
		c = child_find_id(d, id);
		if (!c && !rekey && v1_delete_id(d, id, true) == 0) {
			wprintf_(body, "deleting CHILD SA #%u\n", id);
			return 0;
		}
		if (!c) {
			snprintf(err, errlen, "no CHILD SA #%u", id);
			return -ENOENT;
		}
		if (rekey)
			ike_queue_child_rekey(c->ike, c);
		else
			ike_queue_child_delete(c->ike, c);
		wprintf_(body, "%s CHILD SA #%u\n",
			 rekey ? "rekeying" : "deleting", id);
		return 0;
	}
	if (strcmp(argv[0], "ike") == 0) {
		if (argc != 2 || parse_u32(argv[1], &id) < 0) {
			snprintf(err, errlen, "bad IKE SA id");
			return -EINVAL;
		}
		sa = sa_by_id(d, id);
		if (!sa && !rekey && v1_delete_id(d, id, false) == 0) {
			wprintf_(body, "deleting IKE SA #%u\n", id);
			return 0;
		}
		if (!sa) {
			snprintf(err, errlen, "no IKE SA #%u", id);
			return -ENOENT;
		}
		if (rekey)
			ike_queue_ike_rekey(sa);
		else
			ike_queue_ike_delete(sa);
		wprintf_(body, "%s IKE SA #%u\n",
			 rekey ? "rekeying" : "deleting", id);
		return 0;
	}
	if (strcmp(argv[0], "all") == 0 ||
	    (strcmp(argv[0], "remote") == 0 && argc == 2)) {
		const char *name = argc == 2 ? argv[1] : NULL;
		for (sa = d->sas; sa; sa = next) {
			next = sa->next;
			if (sa->state == IKE_S_DEAD)
				continue;
			if (name && strcmp(sa->remote, name) != 0)
				continue;
			if (rekey)
				ike_queue_ike_rekey(sa);
			else
				ike_queue_ike_delete(sa);
			n++;
		}
		if (!rekey) {
			struct v1_sa *v, *vn;
			for (v = d->v1sas; v; v = vn) {
				vn = v->next;
				if (!v->dead &&
				    (!name || strcmp(v->remote, name) == 0) &&
				    v1_delete_id(d, v->id, false) == 0)
					n++;
			}
		}
		wprintf_(body, "%s %u IKE SA(s)\n",
			 rekey ? "rekeying" : "deleting", n);
		return 0;
	}
	snprintf(err, errlen, "unknown selection '%s'", argv[0]);
	return -EINVAL;
}

static int ctl_dispatch(struct iked *d, int argc, char **argv, struct wr *body,
			char *err, size_t errlen)
{
	if (argc == 0) {
		snprintf(err, errlen, "empty request");
		return -EINVAL;
	}
	if (strcmp(argv[0], "show") == 0) {
		bool json = false, stats = false;
		int i;
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "json") == 0 ||
			    strcmp(argv[i], "--json") == 0)
				json = true;
			else if (strcmp(argv[i], "stats") == 0)
				stats = true;
			else if (strcmp(argv[i], "sa") != 0) {
				snprintf(err, errlen,
					 "usage: show sa|stats [json]");
				return -EINVAL;
			}
		}
		if (stats)
			show_stats(d, body, json);
		else if (json)
			show_json(d, body);
		else
			show_text(d, body);
		return 0;
	}
	if (strcmp(argv[0], "initiate") == 0) {
		if (argc < 2 || argc > 3) {
			snprintf(err, errlen,
				 "usage: initiate REMOTE [POLICY]");
			return -EINVAL;
		}
		if (iked_initiate(d, argv[1], argc == 3 ? argv[2] : NULL, NULL,
				  err, errlen) < 0)
			return -EINVAL;
		wprintf_(body, "initiating %s\n", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "delete") == 0)
		return ctl_sa_op(d, false, argc - 1, argv + 1, body, err,
				 errlen);
	if (strcmp(argv[0], "rekey") == 0)
		return ctl_sa_op(d, true, argc - 1, argv + 1, body, err,
				 errlen);
	if (strcmp(argv[0], "reload") == 0) {
		if (iked_reload(d, err, errlen) < 0)
			return -EINVAL;
		wprintf_(body, "configuration reloaded\n");
		return 0;
	}
	if (strcmp(argv[0], "log") == 0) {
		int lvl;
		if (argc < 2 || argc > 3 ||
		    (lvl = log_level_parse(argv[1])) < 0) {
			snprintf(err, errlen,
				 "usage: log "
				 "err|warn|notice|info|debug [MODULE]");
			return -EINVAL;
		}
		if (argc == 3)
			log_set_module_level(argv[2], (enum log_level)lvl);
		else
			log_set_level((enum log_level)lvl);
		wprintf_(body, "log level %s\n", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "ping") == 0) {
		wprintf_(body, "pong\n");
		return 0;
	}
	snprintf(err, errlen, "unknown command '%s'", argv[0]);
	return -EINVAL;
}

/* Split the request line into words (blank separated, printable). */
static int ctl_parse(struct rd *r, char *line, size_t linesz, char **argv,
		     int *argc)
{
	size_t n = 0;
	uint8_t ch;
	char *p;

	while (rd_u8(r, &ch) == 0) {
		if (ch == '\n')
			break;
		if (ch == '\r')
			continue;
		if (ch < 0x20 || ch >= 0x7f)
			return -EINVAL;
		if (n + 1 >= linesz)
			return -E2BIG;
		line[n++] = (char)ch;
	}
	line[n] = 0;
	*argc = 0;
	for (p = strtok(line, " \t"); p; p = strtok(NULL, " \t")) {
		if (*argc >= CTL_MAX_WORDS)
			return -E2BIG;
		argv[(*argc)++] = p;
	}
	return 0;
}

/*
 * The connections (lib/ctlsrv.h): reading the request and writing the
 * answer never block the event loop (IKE keeps running while a client is
 * slow); a client that has not sent its request within CTL_TIMEOUT_MS,
 * or then reads nothing of its answer for as long, is dropped (the
 * answer waits in lib/outq.h meanwhile, never cut on EAGAIN), and when
 * CTL_MAX_CONNS are open the oldest one still sending its request makes room,
 * so idle connections cannot lock out ikedctl.
 */
#define CTL_MAX_CONNS  16
#define CTL_TIMEOUT_MS 5000

static struct ctlsrv ctl_srv = {.ls = {.fd = -1, .lockfd = -1}};

int ctl_request(struct iked *d, const uint8_t *req, size_t len, struct wr *out)
{
	char line[CTL_MAX_LINE + 1], err[256] = "";
	char *argv[CTL_MAX_WORDS];
	struct wr body;
	struct rd r;
	int argc = 0, rc;

	const uint8_t *nl = memchr(req, '\n', len);
	size_t linelen = nl ? (size_t)(nl - req) : len;

	size_t out_max = d->ctl_out_max ? d->ctl_out_max : CTL_OUT_MAX;

	wr_init(&body, out_max);
	if (linelen > CTL_MAX_LINE) {
		/* never run a truncated request */
		snprintf(err, sizeof(err), "request longer than %u octets",
			 (unsigned)CTL_MAX_LINE);
		rc = -E2BIG;
		goto answer;
	}
	r = rd_init(req, linelen);
	rc = ctl_parse(&r, line, sizeof(line), argv, &argc);
	if (rc < 0)
		snprintf(err, sizeof(err), "malformed request");
	else
		rc = ctl_dispatch(d, argc, argv, &body, err, sizeof(err));
answer:
	if (rc >= 0 && wr_error(&body)) {
		/* never "0 ok" with a silently missing body */
		snprintf(err, sizeof(err),
			 "answer too large (more than %zu "
			 "octets)",
			 out_max);
		rc = -EMSGSIZE;
	}
	if (rc < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-rc));
		wprintf_(out, "1 %s\n", err);
		log_info(MOD, "request failed: %s", err);
	} else {
		wprintf_(out, "0 ok\n");
		wr_bytes(out, body.buf, body.len);
	}
	wr_free(&body);
	return rc < 0 ? rc : 0;
}

static void ctl_handle(void *arg, const uint8_t *req, size_t len,
		       struct wr *out)
{
	(void)ctl_request(arg, req, len, out);
}

int ctl_open(struct iked *d)
{
	char why[512];
	int rc;

	/* a second iked stops here and leaves the first one's socket */
	rc = ctlsrv_open(&ctl_srv, d->loop,
			 &(struct ctlsrv_opts){
			     .sock =
				 {
				     .path = d->ctl_path,
				     .daemon = "iked",
				     .type = SOCK_STREAM,
				     .backlog = 8,
				     .refuse = "1 permission denied\n",
				 },
			     .max_clients = CTL_MAX_CONNS,
			     .req_max = CTL_MAX_LINE,
			     .out_max = CTL_OUT_MAX + 512,
			     .timeout_ms = CTL_TIMEOUT_MS,
			     .handle = ctl_handle,
			     .arg = d,
			 },
			 why, sizeof(why));
	if (rc < 0) {
		log_err(MOD, "%s", why);
		return rc;
	}
	d->ctl_fd = ctl_srv.ls.fd;
	log_info(MOD, "control socket %s", d->ctl_path);
	return 0;
}

void ctl_close(struct iked *d)
{
	ctlsrv_close(&ctl_srv);
	d->ctl_fd = -1;
}
