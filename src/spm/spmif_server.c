/*
 * spmif_server.c - spmd's side of spmif: the listening UNIX socket,
 * one struct conn per client, its output and idle limits, and the
 * routing of kernel ACQUIREs to the registered KMP.  The command table
 * and handlers are in spmif_cmd.c (spmif_dispatch()).
 *
 * Access control (doc/spmif.7): the socket is created mode 0600; a
 * client's SO_PEERCRED uid must be 0 or spmd's own euid; when
 * spmd_password is configured the client must first answer the
 * challenge in the banner with LOGIN.
 *
 * Each conn owns its input buffer and its output queue (lib/outq.h);
 * requests are answered in order, events are appended between replies,
 * never inside one.  An answer is queued whole (never cut on EAGAIN)
 * if the backlog was under OUT_MAX when its request was read; anything
 * else past OUT_MAX drops the client (a stuck KMP must not make spmd
 * grow without bound).
 *
 * Idle limits (so that a local process holding connections cannot lock
 * iked and spmdctl out): a client that leaves a line unfinished for
 * idle_ms is dropped, whoever it is; a client that is neither a
 * registered KMP, nor a MONITOR, nor the owner of dynamic policies --
 * those legitimately wait between requests -- is dropped idle_ms after
 * connecting or after its last complete request.  When all MAX_CONNS
 * slots are taken, the longest-idle client that is not a registered KMP
 * makes room for the new one (MONITORs and policy owners last), so the
 * 421 refusal only remains for an impossible table of KMPs.  One timer
 * (idle_timer) runs at the earliest such deadline.
 */
#include "spm/resolver.h"
#include "spm/spmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/ctlsock.h"
#include "lib/log.h"
#include "spm/spd_conf.h"
#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"
#include "lib/util.h"

#include "spm/spmif_server_int.h"

#define MOD "spmif"

/* ---- output ----------------------------------------------------------- */

/*
 * Write what the socket takes.  Returns 0 to keep going, or 1 when the
 * connection must be closed (error, or flushed after QUIT).  Only the
 * connection's own I/O callback closes it: elsewhere (events pushed
 * from kernel or timer callbacks) use conn_kick().
 */
static int conn_write(struct conn *c)
{
	struct spmd *d = c->srv->d;
	bool want;
	int rc = outq_flush(&c->out, c->fd);

	if (rc < 0) {
		log_info(MOD, "client pid %d: %s", (int)c->pid, strerror(-rc));
		return 1;
	}
	if (rc == 1 && c->closing)
		return 1;
	want = outq_pending(&c->out) || c->closing;
	if (want != c->want_out) {
		c->want_out = want;
		ev_mod_fd(d->loop, c->fd, EPOLLIN | (want ? EPOLLOUT : 0));
	}
	return 0;
}

/* Push output from outside the connection's callback. */
static void conn_kick(struct conn *c)
{
	if (conn_write(c) != 0) {
		/* let conn_io close it: it runs as soon as the loop
		 * sees EPOLLOUT (or the error) */
		c->closing = true;
		c->want_out = true;
		ev_mod_fd(c->srv->d->loop, c->fd, EPOLLIN | EPOLLOUT);
	}
}

/*
 * Append a complete line (w holds it without LF).  Lines wait in the
 * connection's queue (lib/outq.h) until conn_write() hands them to the
 * socket, never dropped on EAGAIN.  The answer to a command is queued
 * whole (a POLICY DUMP is a snapshot of the SPD, however slowly it is
 * read) when the client's backlog was below OUT_MAX as the command
 * started (c->answering); anything else (events, or a second answer
 * behind an unread one) past OUT_MAX disconnects the client, logged.
 */
void conn_put(struct conn *c, const struct wr *w)
{
	size_t limit = c->answering ? SIZE_MAX : OUT_MAX;

	if (wr_error(w)) {
		static const char oom[] = "550 out of memory\n";

		(void)outq_put(&c->out, oom, sizeof(oom) - 1, SIZE_MAX);
		return;
	}
	if (c->closing)
		return; /* being dropped: queue nothing more */
	if (outq_pending(&c->out) + w->len >= limit && c->fd >= 0)
		(void)outq_flush(&c->out, c->fd); /* what the socket takes */
	if (outq_pending(&c->out) + w->len >= limit) {
		log_rl_warn(MOD,
			    "client pid %d: more than %u octets of "
			    "output unread; disconnected",
			    (int)c->pid, (unsigned)OUT_MAX);
		c->closing = true;
		outq_free(&c->out); /* drop the backlog at once */
		return;
	}
	if (outq_put(&c->out, w->buf, w->len, SIZE_MAX) < 0 ||
	    outq_put(&c->out, "\n", 1, SIZE_MAX) < 0) {
		log_rl_warn(MOD, "client pid %d: out of memory; disconnected",
			    (int)c->pid);
		c->closing = true;
		outq_free(&c->out);
	}
}

void reply(struct conn *c, int code, const char *fmt, ...)
{
	char text[512], head[8];
	struct wr w;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* replies are single lines: fold anything the text carried */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	wr_init(&w, SPMIF_LINE_MAX - 1);
	n = snprintf(head, sizeof(head), "%03d ", code);
	wr_bytes(&w, head, (size_t)n);
	wr_bytes(&w, text, strlen(text));
	conn_put(c, &w);
	wr_free(&w);
}

/* Multi-line error: each line of text becomes "CODE-line". */
void reply_lines(struct conn *c, int code, const char *text, const char *final)
{
	const char *p = text;
	char head[8];
	struct wr w;

	snprintf(head, sizeof(head), "%03d-", code);
	wr_init(&w, SPMIF_LINE_MAX - 1);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > SPMIF_LINE_MAX - 16)
			n = SPMIF_LINE_MAX - 16;
		if (n > 0) {
			wr_reset(&w);
			wr_bytes(&w, head, 4);
			wr_bytes(&w, p, n);
			conn_put(c, &w);
		}
		p = nl ? nl + 1 : NULL;
	}
	wr_free(&w);
	reply(c, code, "%s", final);
}

/* ---- connections ------------------------------------------------------- */

void conn_close(struct conn *c)
{
	struct spmif_server *s = c->srv;
	size_t n;

	if (c->fd < 0)
		return;
	ev_del_fd(s->d->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	for (size_t k = 0; k < sizeof(s->kmp) / sizeof(s->kmp[0]); k++)
		if (c->kmp && s->kmp[k] == c) {
			s->kmp[k] = NULL;
			log_info(MOD, "%s (pid %d) disconnected",
				 spmif_kmp_name((enum spmif_kmp)k),
				 (int)c->pid);
		}
	/* road-warrior policies live only as long as their KMP */
	n = spd_dyn_drop_owner(&s->d->spd, c);
	if (n)
		log_info(MOD, "pid %d gone: %zu dynamic policies removed",
			 (int)c->pid, n);
	for (struct conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->nconns--;
	outq_free(&c->out);
	mem_wipe(c->challenge, sizeof(c->challenge));
	free(c);
}

/* ---- idle limits -------------------------------------------------------- */

static bool conn_partial(const struct conn *c)
{
	return c->inlen > 0 || c->discarding;
}

/* Clients that may wait between requests for as long as they like. */
static bool conn_waits_legitimately(const struct conn *c)
{
	return c->kmp || c->monitor || c->owns_dyn;
}

/* When c must have finished its current line or sent its next request;
 * false if it has no such deadline. */
static bool conn_deadline(const struct conn *c, uint64_t *when)
{
	const uint64_t idle = c->srv->idle_ms;

	if (c->fd < 0)
		return false;
	if (conn_partial(c)) {
		*when = c->part_ms + idle;
		return true;
	}
	if (conn_waits_legitimately(c))
		return false;
	*when = c->since_ms + idle;
	return true;
}

/* Run the idle timer at the earliest deadline (at most MAX_CONNS). */
static void idle_arm(struct spmif_server *s)
{
	uint64_t first = UINT64_MAX, w, now;

	for (const struct conn *c = s->conns; c; c = c->next)
		if (conn_deadline(c, &w) && w < first)
			first = w;
	ev_timer_stop(s->d->loop, &s->idle_timer);
	if (first == UINT64_MAX)
		return;
	now = ev_now_ms();
	(void)ev_timer_start(s->d->loop, &s->idle_timer,
			     first > now ? first - now : 0);
}

/* Tell the client why (best effort: it may not read; never inside a
 * reply still queued for it) and hang up. */
static void conn_drop(struct conn *c, const char *why)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "421 %s\n", why);
	if (n > 0 && (size_t)n < sizeof(line) && !outq_pending(&c->out))
		(void)!send(c->fd, line, (size_t)n,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	conn_close(c);
}

static void idle_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct spmif_server *s = arg;
	uint64_t now = ev_now_ms(), w;

	(void)loop;
	(void)t;
	for (struct conn *c = s->conns, *n; c; c = n) {
		n = c->next;
		if (!conn_deadline(c, &w) || w > now)
			continue;
		s->idle_drops++;
		log_rl_warn(MOD, "client pid %d: %s for %u ms; disconnected",
			    (int)c->pid,
			    conn_partial(c) ? "request line unfinished"
					    : "no request",
			    s->idle_ms);
		conn_drop(c, conn_partial(c) ? "request not completed in time"
					     : "idle timeout");
	}
	idle_arm(s);
}

/*
 * All slots taken: the client that is not a registered KMP and has been
 * quiet the longest (connect or last complete request) goes; MONITORs
 * and owners of dynamic policies only when nobody else can.
 */
static struct conn *evict_candidate(struct spmif_server *s)
{
	struct conn *best = NULL;

	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->kmp || c->fd < 0)
			continue;
		if (!best) {
			best = c;
			continue;
		}
		bool cw = conn_waits_legitimately(c);
		bool bw = conn_waits_legitimately(best);

		if (cw != bw) {
			if (!cw)
				best = c;
			continue;
		}
		if (c->since_ms < best->since_ms)
			best = c;
	}
	return best;
}

void spmif_server_set_idle_ms(struct spmif_server *s, unsigned ms)
{
	s->idle_ms = ms ? ms : IDLE_MS_DEFAULT;
	idle_arm(s);
}

static void handle_line(struct conn *c, const uint8_t *p, size_t n)
{
	struct spmif_msg *m = malloc(sizeof(*m));
	const char *why;

	if (!m) {
		reply(c, SPMIF_E_FAILED, "out of memory");
		return;
	}
	if (spmif_msg_parse(rd_init(p, n), m, &why) < 0) {
		log_rl_warn(MOD, "client pid %d: bad request: %s", (int)c->pid,
			    why);
		reply(c, SPMIF_E_SYNTAX, "%s", why);
	} else {
		/* its answer is queued whole unless an earlier one still
		 * waits unread (conn_put) */
		c->answering = outq_pending(&c->out) < OUT_MAX;
		spmif_dispatch(c, m);
		c->answering = false;
	}
	free(m);
}

/* Handle every complete line in c->in; keep the partial rest.
 * Returns the number of lines that ended (handled or discarded). */
static size_t conn_lines(struct conn *c)
{
	size_t start = 0, lines = 0;

	for (size_t i = 0; i < c->inlen && !c->closing; i++) {
		if (c->in[i] != '\n')
			continue;
		if (c->discarding)
			c->discarding = false; /* end of the over-long line */
		else
			handle_line(c, c->in + start, i - start);
		start = i + 1;
		lines++;
	}
	if (c->closing) {
		c->inlen = 0;
	} else if (start > 0) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	} else if (c->inlen == sizeof(c->in)) {
		/* no LF in a full buffer: reject and skip to the next LF */
		if (!c->discarding)
			reply(c, SPMIF_E_SYNTAX, "line too long");
		c->discarding = true;
		c->inlen = 0;
	}
	return lines;
}

static void conn_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (events & EPOLLOUT) {
		if (conn_write(c) != 0)
			conn_close(c);
		return; /* EPOLLIN is level-triggered: it comes again */
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;

	bool was_partial = conn_partial(c);
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	struct spmif_server *s = c->srv;
	uint64_t now;
	size_t lines;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		idle_arm(s);
		return;
	}
	c->inlen += (size_t)n;
	lines = conn_lines(c);
	/* The idle clocks: a finished request restarts the wait for the
	 * next one; an unfinished line is timed from its first byte. */
	now = ev_now_ms();
	if (lines)
		c->since_ms = now;
	if (conn_partial(c) && (lines || !was_partial))
		c->part_ms = now;
	idle_arm(s);
	if (conn_write(c) != 0)
		conn_close(c);
}

static void accept_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct spmif_server *s = arg;
	struct {
		uid_t uid;
		pid_t pid;
	} cred;
	struct conn *c;
	int cfd;

	(void)fd;
	/* SO_PEERCRED: root or spmd's euid (ctlsock_accept) */
	cfd = ctlsock_accept(&s->ls, &cred.uid, &cred.pid);
	if (cfd < 0) {
		if (cfd != -EAGAIN && cfd != -EINTR && cfd != -EACCES)
			log_rl_warn(MOD, "accept: %s", strerror(-cfd));
		return;
	}
	if (s->nconns >= MAX_CONNS) {
		static const char busy[] = "421 too many clients\n";
		struct conn *v = evict_candidate(s);

		if (!v) {
			(void)!send(cfd, busy, sizeof(busy) - 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
			close(cfd);
			return;
		}
		s->evictions++;
		log_rl_warn(MOD,
			    "%d clients: dropping pid %d, quiet for %" PRIu64
			    " ms, for pid %d",
			    MAX_CONNS, (int)v->pid, ev_now_ms() - v->since_ms,
			    (int)cred.pid);
		conn_drop(v, "too many clients; closing the longest idle");
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->srv = s;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->since_ms = ev_now_ms();
	outq_init(&c->out, true);
	if (ev_add_fd(s->d->loop, cfd, EPOLLIN, conn_io, c) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	if (s->password) {
		unsigned char rnd[32];

		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			conn_close(c);
			return;
		}
		hex_encode(rnd, sizeof(rnd), c->challenge,
			   sizeof(c->challenge));
		reply(c, 220, "spmd spmif/1 challenge=%s", c->challenge);
	} else {
		c->authed = true;
		reply(c, 220, "spmd spmif/1 ready");
	}
	log_debug(MOD, "client pid %d uid %u connected", (int)c->pid,
		  (unsigned)c->uid);
	if (conn_write(c) != 0)
		conn_close(c);
	idle_arm(s);
}

/* ---- events ------------------------------------------------------------ */

void spmif_server_acquire(struct spmif_server *s, const struct kevent *ev)
{
	struct spmd *d = s->d;
	const struct spd_entry *e;
	const struct spd_dyn *dyn;
	struct conn *target;
	struct kaddr sa_src, sa_dst;
	char buf[16];
	struct wr w;

	d->spd.st.acquires++;
	e = spd_find_index(&d->spd, ev->u.acquire.pol_index, &dyn);
	if (!e) {
		d->spd.st.acquires_dropped++;
		log_rl_warn(MOD,
			    "ACQUIRE for policy index 0x%x that spmd "
			    "did not install; ignored",
			    ev->u.acquire.pol_index);
		return;
	}
	target = e->kmp ? s->kmp[e->kmp] : NULL;

	sa_src = ev->u.acquire.src;
	sa_dst = ev->u.acquire.dst;
	if (!sa_src.af && e->kp.ntmpl)
		sa_src = e->kp.tmpl[0].src;
	if (!sa_dst.af && e->kp.ntmpl)
		sa_dst = e->kp.tmpl[0].dst;

	wr_init(&w, SPMIF_LINE_MAX - 1);
	wr_bytes(&w, "600 ACQUIRE", 11);
	spmif_put_u64(&w, "seq", ++d->acquire_seq);
	if (e->kmp)
		spmif_put_str(&w, "kmp", spmif_kmp_name(e->kmp));
	spmif_put_u64(&w, "index", e->kp.index);
	spmif_put_str(&w, "dir", spmif_dir_str(e->kp.dir));
	spmif_put_str(&w, "selector", e->selector);
	spmif_put_str(&w, "policy", e->policy);
	if (e->remote[0])
		spmif_put_str(&w, "remote", e->remote);
	if (dyn)
		spmif_put_u64(&w, "id", dyn->id);
	spmif_put_sel(&w, &e->kp.sel);
	/* RFC 7296 §2.9: the triggering packet, for the KMP's first TS */
	spmif_put_pkt(&w, &ev->u.acquire.sel);
	if (sa_src.af)
		spmif_put_addr(&w, "sa_src", &sa_src);
	if (sa_dst.af)
		spmif_put_addr(&w, "sa_dst", &sa_dst);
	if (e->kp.ntmpl) {
		spmif_put_u64(&w, "reqid", e->kp.tmpl[0].reqid);
		spmif_put_str(&w, "mode", spmif_mode_str(e->kp.tmpl[0].mode));
		spmif_put_str(
		    &w, "ipsec",
		    spmif_ipproto_str(e->kp.tmpl[0].proto, buf, sizeof(buf)));
	}
	if (!target) {
		d->spd.st.acquires_dropped++;
		log_rl_warn(MOD,
			    "ACQUIRE for selector %s (remote %s): no %s "
			    "daemon registered; dropped",
			    e->selector, e->remote[0] ? e->remote : "-",
			    e->kmp ? spmif_kmp_name(e->kmp) : "KMP");
	} else {
		d->spd.st.acquires_routed++;
		log_debug(MOD, "ACQUIRE selector %s -> %s", e->selector,
			  spmif_kmp_name(e->kmp));
		conn_put(target, &w);
		conn_kick(target);
	}
	for (struct conn *c = s->conns, *n; c; c = n) {
		n = c->next;
		if (c->monitor && c != target) {
			conn_put(c, &w);
			conn_kick(c);
		}
	}
	wr_free(&w);
}

/*
 * One "602 MIGRATE" line per pair: the names of the entry, its selector,
 * the pair's protocol, mode and reqid, old and new SA endpoints.  The
 * KMP that negotiated the SAs moves its IKE SA to the new endpoints.
 */
void spmif_server_migrate(struct spmif_server *s, const struct kevent *ev)
{
	const struct kmigrate_req *r = &ev->u.migrate;
	struct spmd *d = s->d;
	const struct spd_dyn *dyn;
	struct spd_entry *e;
	struct conn *target;
	char buf[16];
	struct wr w;

	e = spd_find_sel(&d->spd, &r->sel, r->dir, &dyn);
	if (!e) {
		char sel[160];

		log_info(MOD,
			 "MIGRATE of a policy spmd did not install (%s); "
			 "not forwarded",
			 ksel_str(&r->sel, sel, sizeof(sel)));
		return;
	}
	spd_migrated_entry(e, r);
	target = e->kmp ? s->kmp[e->kmp] : NULL;
	log_info(MOD, "MIGRATE selector %s -> %s", e->selector,
		 target ? spmif_kmp_name(e->kmp) : "no KMP registered");
	wr_init(&w, SPMIF_LINE_MAX - 1);
	for (unsigned i = 0; i < r->n && i < KMIGRATE_MAX; i++) {
		const struct kmigrate *m = &r->m[i];

		wr_reset(&w);
		wr_bytes(&w, "602 MIGRATE", 11);
		if (e->kmp)
			spmif_put_str(&w, "kmp", spmif_kmp_name(e->kmp));
		spmif_put_u64(&w, "index", e->kp.index);
		spmif_put_str(&w, "dir", spmif_dir_str(r->dir));
		spmif_put_str(&w, "selector", e->selector);
		spmif_put_str(&w, "policy", e->policy);
		if (e->remote[0])
			spmif_put_str(&w, "remote", e->remote);
		if (dyn)
			spmif_put_u64(&w, "id", dyn->id);
		spmif_put_sel(&w, &r->sel);
		spmif_put_u64(&w, "reqid", m->reqid);
		spmif_put_str(&w, "mode", spmif_mode_str(m->mode));
		spmif_put_str(&w, "ipsec",
			      spmif_ipproto_str(m->proto, buf, sizeof(buf)));
		spmif_put_addr(&w, "old_src", &m->old_src);
		spmif_put_addr(&w, "old_dst", &m->old_dst);
		spmif_put_addr(&w, "new_src", &m->new_src);
		spmif_put_addr(&w, "new_dst", &m->new_dst);
		if (target) {
			conn_put(target, &w);
			conn_kick(target);
		}
		for (struct conn *c = s->conns, *n; c; c = n) {
			n = c->next;
			if (c->monitor && c != target) {
				conn_put(c, &w);
				conn_kick(c);
			}
		}
	}
	wr_free(&w);
}

void spmif_server_dyn_gone(struct spd *spd, const struct spd_dyn *dyn,
			   const char *reason, void *arg)
{
	struct spmif_server *s = arg;
	struct conn *c = NULL;
	struct wr w;

	for (c = s->conns; c; c = c->next)
		if (c == dyn->owner)
			break;
	if (!c)
		return;
	wr_init(&w, SPMIF_LINE_MAX - 1);
	wr_bytes(&w, "601 POLICY-GONE", 15);
	spmif_put_u64(&w, "id", dyn->id);
	spmif_put_str(&w, "selector", dyn->e[0].selector);
	spmif_put_str(&w, "reason", reason);
	conn_put(c, &w);
	wr_free(&w);
	conn_kick(c);
}

/* ---- test hook ------------------------------------------------------------
 */

int spmif_server_feed(struct spmif_server *s, int fd, const uint8_t *data,
		      size_t len, bool authed)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->srv = s;
	c->pid = -1;
	c->since_ms = ev_now_ms();
	c->authed = authed || !s->password;
	snprintf(c->challenge, sizeof(c->challenge), "%s", "fuzz");
	outq_init(&c->out, true);
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	while (len > 0 && !c->closing) {
		size_t n = sizeof(c->in) - c->inlen;

		if (n > len)
			n = len;
		memcpy(c->in + c->inlen, data, n);
		c->inlen += n;
		data += n;
		len -= n;
		conn_lines(c);
		(void)conn_write(c);
	}
	conn_close(c); /* also closes fd */
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

struct spmif_server *spmif_server_new(struct spmd *d, const char *path,
				      const char *password_file, int *err)
{
	struct spmif_server *s;
	char why[512];
	int rc;

	*err = 0;
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->d = d;
	ctlsock_init(&s->ls);
	s->idle_ms = IDLE_MS_DEFAULT;
	ev_timer_init(&s->idle_timer, idle_fire, s);
	if (password_file) {
		rc =
		    spmif_read_password(password_file, &s->password, &s->pwlen);
		if (rc < 0) {
			log_err(MOD, "spmd_password %s: %s", password_file,
				strerror(-rc));
			*err = rc;
			goto free_server;
		}
	}
	if (!path)
		return s; /* no socket: tests drive it with spmif_server_feed */
	/* one spmd per socket; mode 0600 before bind (lib/ctlsock.h) */
	rc = ctlsock_open(&s->ls,
			  &(struct ctlsock_opts){
			      .path = path,
			      .daemon = "spmd",
			      .type = SOCK_STREAM,
			      .refuse = "530 permission denied\n",
			  },
			  why, sizeof(why));
	if (rc < 0) {
		log_err(MOD, "%s", why);
		*err = rc;
		goto free_password;
	}
	rc = ev_add_fd(d->loop, s->ls.fd, EPOLLIN, accept_cb, s);
	if (rc < 0) {
		*err = rc;
		goto close_socket;
	}
	log_info(MOD, "listening on %s%s", path,
		 s->password ? " (password required)" : "");
	return s;

close_socket:
	ctlsock_close(&s->ls);
free_password:
	if (s->password) {
		mem_wipe(s->password, s->pwlen);
		free(s->password);
	}
free_server:
	free(s);
	return NULL;
}

void spmif_server_free(struct spmif_server *s)
{
	if (!s)
		return;
	ev_timer_stop(s->d->loop, &s->idle_timer);
	while (s->conns) {
		/* best effort: tell clients we are going */
		struct conn *c = s->conns;
		static const char bye[] = "421 spmd shutting down\n";

		(void)!send(c->fd, bye, sizeof(bye) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_close(c);
	}
	if (s->ls.fd >= 0)
		ev_del_fd(s->d->loop, s->ls.fd);
	ctlsock_close(&s->ls);
	if (s->password) {
		mem_wipe(s->password, s->pwlen);
		free(s->password);
	}
	free(s);
}
