/*
 * resolver.c - spmd's side of the resolver (see resolver.h): the FQDN
 * list and its address cache, the sandboxed DNS proxy child it forks and
 * supervises, and the configuration's host names resolved through it.
 *
 * The child parses DNS; spmd only decodes the child's fixed-layout
 * messages (resolver_msg.c, rd cursor, every field checked).  A message
 * that does not decode, or a result that does not match what spmd asked
 * for, means the child is broken: spmd kills it, logs why and goes on
 * without the proxy (fail closed; the policies stay).
 *
 * Cache: for each listed FQDN (from the configuration's host names and
 * spmif FQDN ADD), the A and AAAA addresses of the last answer, from
 * spmd's own queries (refreshed when the TTL runs out, bounded to
 * [RES_TTL_MIN, RES_TTL_MAX]) and from answers the proxy relays to
 * local clients (racoon2's way of learning them).  When a set changes
 * the static policies are rebuilt from the running configuration.
 */
#include "spm/resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/paths.h"
#include "lib/sandbox.h"
#include "spm/dns.h"
#include "spm/resolver_msg.h"
#include "spm/spmd.h"

#define MOD "resolver"

#define RES_LISTEN_MAX 8
#define RES_TTL_MIN_MS 10000
#define RES_TTL_MAX_MS 3600000
#define RES_RETRY_MS   5000
#define RES_TICK_MS    1000
#define RES_REBUILD_MS 200

struct fqdn {
	char name[DNS_TEXT_MAX];
	uint8_t wire[DNS_WIRE_MAX];
	size_t wire_len;
	/* [0] A, [1] AAAA */
	struct kaddr a[2][DNS_ADDR_MAX];
	size_t n[2];
	bool known[2];	    /* an answer (maybe empty) was received */
	uint32_t tok[2];    /* outstanding query, 0 = none */
	uint64_t due_ms[2]; /* when to ask again */
};

struct resolver {
	struct spmd *d;
	struct ev_loop *loop;
	bool enabled;
	pid_t child;
	int fd; /* socketpair to the child, -1 = none */
	struct fqdn *v[RESOLVER_FQDN_MAX];
	size_t nv;
	uint32_t next_token;
	struct ev_timer tick, rebuild;
};

static int fam(uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? 0 : 1;
}

static void child_gone(struct resolver *r, const char *why)
{
	int st = 0;

	if (r->fd >= 0) {
		if (r->loop)
			(void)ev_del_fd(r->loop, r->fd);
		close(r->fd);
		r->fd = -1;
	}
	if (r->child > 0) {
		kill(r->child, SIGKILL);
		(void)waitpid(r->child, &st, 0);
		log_err(MOD,
			"DNS proxy process %d stopped (%s; %s %d): no DNS "
			"proxy and no name resolution until spmd restarts",
			(int)r->child, why,
			WIFSIGNALED(st) ? "signal" : "exit status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		r->child = 0;
	}
	for (size_t i = 0; i < r->nv; i++)
		r->v[i]->tok[0] = r->v[i]->tok[1] = 0;
}

static void to_child(struct resolver *r, struct wr *w)
{
	if (r->fd < 0 || wr_error(w))
		return;
	if (send(r->fd, w->buf, w->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		child_gone(r, strerror(errno));
}

void resolver_ns_changed(struct resolver *r)
{
	struct res_ns ns[RES_NS_MAX];
	struct spmd *d;
	struct wr w;
	size_t n = 0;

	if (!r || r->fd < 0)
		return;
	d = r->d;
	for (size_t i = 0; i < d->nns && n < RES_NS_MAX; i++) {
		memset(&ns[n], 0, sizeof(ns[n]));
		ns[n].af = d->ns[i].addr.af;
		memcpy(ns[n].a, d->ns[i].addr.u.b,
		       ns[n].af == AF_INET ? 4 : 16);
		ns[n].port = d->ns[i].port ? d->ns[i].port : 53;
		n++;
	}
	wr_init(&w, RES_MSG_CAP);
	if (res_enc_ns(&w, ns, n) == 0)
		to_child(r, &w);
	wr_free(&w);
	/* other nameservers may know better: ask again at the next tick
	 * (a late answer to an older query is then ignored) */
	for (size_t i = 0; i < r->nv; i++)
		for (int k = 0; k < 2; k++) {
			r->v[i]->tok[k] = 0;
			r->v[i]->due_ms[k] = 0;
		}
}

static void ask(struct resolver *r, struct fqdn *f, int k)
{
	struct res_query q;
	struct wr w;

	if (r->fd < 0 || f->tok[k])
		return;
	if (++r->next_token == 0)
		r->next_token = 1;
	memset(&q, 0, sizeof(q));
	q.token = r->next_token;
	q.qtype = k == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA;
	memcpy(q.name, f->wire, f->wire_len);
	q.name_len = f->wire_len;
	f->tok[k] = q.token;
	f->due_ms[k] = ev_now_ms() + RES_RETRY_MS;
	wr_init(&w, RES_MSG_CAP);
	if (res_enc_query(&w, &q) == 0)
		to_child(r, &w);
	wr_free(&w);
}

static struct fqdn *find(const struct resolver *r, const uint8_t *wire,
			 size_t len, size_t *idx)
{
	for (size_t i = 0; i < r->nv; i++)
		if (r->v[i]->wire_len == len &&
		    memcmp(r->v[i]->wire, wire, len) == 0) {
			if (idx)
				*idx = i;
			return r->v[i];
		}
	return NULL;
}

static void rebuild_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct resolver *r = arg;

	(void)loop;
	(void)t;
	spmd_rebuild(r->d, "cached host addresses changed");
}

static void schedule_rebuild(struct resolver *r)
{
	if (r->loop && !ev_timer_active(&r->rebuild))
		ev_timer_start(r->loop, &r->rebuild, RES_REBUILD_MS);
}

/* Apply one result to the entry f, family k. */
static void apply(struct resolver *r, struct fqdn *f, int k,
		  const struct res_result *x)
{
	struct kaddr na[DNS_ADDR_MAX];
	uint64_t ttl_ms;
	size_t n = 0;
	bool changed;

	if (x->status == RES_ST_FAIL) {
		f->due_ms[k] = ev_now_ms() + RES_RETRY_MS;
		return; /* keep what we had */
	}
	for (size_t i = 0; i < x->naddr; i++) {
		memset(&na[n], 0, sizeof(na[n]));
		na[n].af = x->addr[i].af;
		memcpy(na[n].u.b, x->addr[i].a, na[n].af == AF_INET ? 4 : 16);
		n++;
	}
	changed = !f->known[k] || n != f->n[k] ||
		  memcmp(na, f->a[k], n * sizeof(na[0])) != 0;
	memcpy(f->a[k], na, n * sizeof(na[0]));
	f->n[k] = n;
	f->known[k] = true;
	ttl_ms = (uint64_t)x->ttl * 1000;
	if (ttl_ms < RES_TTL_MIN_MS)
		ttl_ms = RES_TTL_MIN_MS;
	if (ttl_ms > RES_TTL_MAX_MS)
		ttl_ms = RES_TTL_MAX_MS;
	f->due_ms[k] = ev_now_ms() + ttl_ms;
	if (changed) {
		log_info(MOD, "%s: %zu %s address%s%s", f->name, n,
			 k == 0 ? "IPv4" : "IPv6", n == 1 ? "" : "es",
			 x->status == RES_ST_NONAME ? " (no such name)" : "");
		schedule_rebuild(r);
	}
}

int resolver_child_msg(struct resolver *r, const uint8_t *p, size_t n)
{
	struct res_result x;
	struct fqdn *f;
	int k;

	if (res_dec_result(p, n, &x) < 0) {
		child_gone(r, "malformed message from the DNS proxy");
		return -EBADMSG;
	}
	k = fam(x.qtype);
	f = find(r, x.name, x.name_len, NULL);
	if (x.token) {
		/* a result for one of our queries: the token must be the
		 * one outstanding for this name and family */
		if (!f || f->tok[k] != x.token) {
			bool ours = false;

			for (size_t i = 0; i < r->nv; i++)
				if (r->v[i]->tok[0] == x.token ||
				    r->v[i]->tok[1] == x.token)
					ours = true;
			if (ours) {
				child_gone(r, "a result that does not match "
					      "its query");
				return -EBADMSG;
			}
			return 0; /* entry deleted meanwhile */
		}
		f->tok[k] = 0;
	} else if (!f) {
		return 0; /* a name we do not keep (racoon2: only listed) */
	}
	apply(r, f, k, &x);
	return 0;
}

static void on_child(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct resolver *r = arg;
	uint8_t buf[RES_MSG_CAP];
	ssize_t n;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64 && r->fd == fd; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			child_gone(r, n == 0 ? "it closed the channel"
					     : strerror(errno));
			return;
		}
		if ((size_t)n > sizeof(buf)) {
			child_gone(r, "oversized message from the DNS proxy");
			return;
		}
		(void)resolver_child_msg(r, buf, (size_t)n);
	}
}

static void tick_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct resolver *r = arg;
	uint64_t now = ev_now_ms();

	for (size_t i = 0; i < r->nv; i++)
		for (int k = 0; k < 2; k++) {
			struct fqdn *f = r->v[i];

			/* an outstanding query the child never answered
			 * (it answers or fails within its own timeouts) */
			if (f->tok[k] && now >= f->due_ms[k] + RES_RETRY_MS)
				f->tok[k] = 0;
			if (!f->tok[k] && now >= f->due_ms[k])
				ask(r, f, k);
		}
	ev_timer_start(loop, t, RES_TICK_MS);
}

static int fqdn_add_wire(struct resolver *r, const uint8_t *wire, size_t len,
			 struct fqdn **out)
{
	struct fqdn *f;

	if (find(r, wire, len, NULL))
		return -EEXIST;
	if (r->nv == RESOLVER_FQDN_MAX)
		return -ENOSPC;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	memcpy(f->wire, wire, len);
	f->wire_len = len;
	if (dns_name_to_text(wire, len, f->name, sizeof(f->name)) < 0) {
		free(f);
		return -EINVAL;
	}
	r->v[r->nv++] = f;
	ask(r, f, 0);
	ask(r, f, 1);
	if (out)
		*out = f;
	return 0;
}

int resolver_fqdn_add(struct resolver *r, const char *name)
{
	uint8_t wire[DNS_WIRE_MAX];
	int len = dns_name_from_text(name, wire, sizeof(wire));

	if (len < 0)
		return -EINVAL;
	return fqdn_add_wire(r, wire, (size_t)len, NULL);
}

int resolver_fqdn_del(struct resolver *r, const char *name)
{
	uint8_t wire[DNS_WIRE_MAX];
	int len = dns_name_from_text(name, wire, sizeof(wire));
	size_t i;
	struct fqdn *f;

	if (len < 0)
		return -EINVAL;
	f = find(r, wire, (size_t)len, &i);
	if (!f)
		return -ENOENT;
	free(f);
	memmove(&r->v[i], &r->v[i + 1], (r->nv - i - 1) * sizeof(r->v[0]));
	r->nv--;
	return 0;
}

size_t resolver_fqdn_count(const struct resolver *r)
{
	return r ? r->nv : 0;
}

const char *resolver_fqdn_name(const struct resolver *r, size_t i)
{
	return r && i < r->nv ? r->v[i]->name : NULL;
}

const char *resolver_fqdn_query(const struct resolver *r, const struct kaddr *a)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->nv; i++)
		for (int k = 0; k < 2; k++)
			for (size_t j = 0; j < r->v[i]->n[k]; j++)
				if (kaddr_eq(&r->v[i]->a[k][j], a))
					return r->v[i]->name;
	return NULL;
}

bool resolver_running(const struct resolver *r)
{
	return r && r->fd >= 0;
}

/*
 * conf_addr_expand() of a host name with `resolver on;`: the cached
 * addresses; a name not listed yet is added (and asked for), and the
 * policies are rebuilt when its answer arrives.
 */
static int name_hook(void *arg, const char *name, struct conf_name_addr *out,
		     size_t max)
{
	struct resolver *r = arg;
	uint8_t wire[DNS_WIRE_MAX];
	int len = dns_name_from_text(name, wire, sizeof(wire));
	struct fqdn *f;
	size_t n = 0;

	if (len < 0)
		return -EINVAL;
	f = find(r, wire, (size_t)len, NULL);
	if (!f) {
		int rc = fqdn_add_wire(r, wire, (size_t)len, &f);

		if (rc < 0)
			return rc;
		log_info(MOD, "%s: asking the nameservers", f->name);
	}
	for (int k = 0; k < 2; k++)
		for (size_t j = 0; j < f->n[k] && n < max; j++) {
			out[n].af = f->a[k][j].af;
			memset(out[n].a, 0, 16);
			memcpy(out[n].a, f->a[k][j].u.b,
			       f->a[k][j].af == AF_INET ? 4 : 16);
			n++;
		}
	return (int)n;
}

static socklen_t addr_sa(const struct conf_addr *a, struct sockaddr_storage *ss)
{
	uint16_t port = a->has_port && a->port != CONF_PORT_ANY ? a->port : 53;

	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, a->u.b, 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->u.b, 16);
	s6->sin6_scope_id = a->scope_id;
	return sizeof(*s6);
}

static int udp_socket(int af, const struct sockaddr_storage *bind_to,
		      socklen_t bl)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (af == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind_to && bind(fd, (const struct sockaddr *)bind_to, bl) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* The child's empty root: R2_CHROOT_DIR (lib/sandbox.h makes it). */
static const char *chroot_dir(void)
{
	return sandbox_chroot_prepare(R2_CHROOT_DIR) < 0 ? NULL : R2_CHROOT_DIR;
}

static int start_child(struct resolver *r, const struct conf *c,
		       int keep_closed)
{
	const struct conf_addr_list *l = &c->resolver.dns_query;
	int lfd[RES_LISTEN_MAX], up4, up6, sp[2], rc = 0;
	size_t nlfd = 0;
	char buf[INET6_ADDRSTRLEN + 16], why[256];
	const char *root;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	/* fail before binding anything if the user is missing */
	rc = sandbox_lookup_user(NULL, &uid, &gid, why, sizeof(why));
	if (rc < 0)
		return rc;
	root = chroot_dir();
	if (!root) {
		rc = -errno;
		log_err(MOD, "%s: %s", R2_CHROOT_DIR, strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct conf_addr *a = &l->v[i];
		struct sockaddr_storage ss;
		socklen_t sl;
		int fd;

		if (a->kind != CONF_ADDR_IP)
			continue; /* the grammar allows only addresses */
		if (nlfd == RES_LISTEN_MAX) {
			log_warn(MOD, "at most %d dns_query addresses",
				 RES_LISTEN_MAX);
			break;
		}
		sl = addr_sa(a, &ss);
		fd = udp_socket(a->af, &ss, sl);
		conf_addr_str(a, buf, sizeof(buf));
		if (fd < 0) {
			log_err(MOD, "dns_query %s: %s", buf, strerror(-fd));
			rc = fd;
			goto close_listeners;
		}
		lfd[nlfd++] = fd;
		log_info(MOD, "DNS proxy listening on %s", buf);
	}
	if (nlfd == 0)
		log_warn(MOD, "resolver on but no dns_query address: the "
			      "proxy does not listen");
	up4 = udp_socket(AF_INET, NULL, 0);
	up6 = udp_socket(AF_INET6, NULL, 0);
	if (up4 < 0 && up6 < 0) {
		rc = up4;
		goto close_listeners;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = -errno;
		goto close_upstream;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(sp[0]);
		close(sp[1]);
		goto close_upstream;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* ^C in the foreground, SIGHUP and a service manager's
		 * SIGTERM to the whole group are spmd's: it stops the child
		 * by closing the socketpair (and SIGKILL if spmd dies) */
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(sp[0]);
		if (keep_closed >= 0)
			close(keep_closed);
		_exit(
		    resolver_child_run(sp[1], lfd, nlfd, up4, up6, NULL, root));
	}
	close(sp[1]);
	r->fd = sp[0];
	r->child = pid;
	/* wait until the child's sandbox holds: a resolver that cannot
	 * start is an error at start, not a silent degradation */
	{
		struct timeval tv = {.tv_sec = 5};
		char ok = 0;

		(void)setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				 sizeof(tv));
		if (recv(r->fd, &ok, 1, 0) != 1 || ok != 'S') {
			child_gone(r, "it did not start");
			rc = -ECHILD;
			goto close_upstream;
		}
	}
	(void)fcntl(r->fd, F_SETFL, O_NONBLOCK);
	rc = 0;
close_upstream:
	if (up4 >= 0)
		close(up4);
	if (up6 >= 0)
		close(up6);
close_listeners:
	for (size_t i = 0; i < nlfd; i++)
		close(lfd[i]);
	return rc;
}

struct resolver *resolver_new(struct spmd *d, const struct conf *c,
			      int keep_closed, int *err)
{
	struct resolver *r = calloc(1, sizeof(*r));

	*err = 0;
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->d = d;
	r->fd = -1;
	ev_timer_init(&r->tick, tick_cb, r);
	ev_timer_init(&r->rebuild, rebuild_cb, r);
	r->enabled = c && c->resolver.enabled;
	if (!r->enabled)
		return r;
	*err = start_child(r, c, keep_closed);
	if (*err < 0) {
		free(r);
		return NULL;
	}
	log_info(MOD, "DNS proxy process %d started", (int)r->child);
	resolver_ns_changed(r);
	conf_set_name_resolver(name_hook, r);
	return r;
}

int resolver_attach(struct resolver *r, struct ev_loop *loop)
{
	if (!r)
		return 0;
	r->loop = loop;
	if (r->fd >= 0 && ev_add_fd(loop, r->fd, EPOLLIN, on_child, r) < 0)
		return -ENOMEM;
	if (r->enabled)
		ev_timer_start(loop, &r->tick, RES_TICK_MS);
	return 0;
}

void resolver_free(struct resolver *r)
{
	int st;

	if (!r)
		return;
	conf_set_name_resolver(NULL, NULL);
	if (r->loop) {
		if (ev_timer_active(&r->tick))
			ev_timer_stop(r->loop, &r->tick);
		if (ev_timer_active(&r->rebuild))
			ev_timer_stop(r->loop, &r->rebuild);
	}
	if (r->fd >= 0) {
		if (r->loop)
			(void)ev_del_fd(r->loop, r->fd);
		close(r->fd); /* the child sees EOF and exits */
		r->fd = -1;
	}
	if (r->child > 0) {
		/* give it a moment to log its counters */
		for (int i = 0; i < 50; i++) {
			if (waitpid(r->child, &st, WNOHANG) == r->child) {
				r->child = 0;
				break;
			}
			usleep(10000);
		}
		if (r->child > 0) {
			kill(r->child, SIGKILL);
			(void)waitpid(r->child, &st, 0);
		}
	}
	for (size_t i = 0; i < r->nv; i++)
		free(r->v[i]);
	free(r);
}
