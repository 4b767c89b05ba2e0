/*
 * priv.c - iked's privileged parent (see priv.h for the process model
 * and the message set, kproxy.h for the kernel operations).
 *
 * The parent keeps root for what the engine must not do itself: the
 * real kernel backend, the files of the configuration, spmd's socket
 * and password, script hooks and CP addresses.  It parses no peer
 * input; what it reads from the engine goes through rd and is checked
 * against its own configuration before anything is done.
 *
 * Lifetime: the parent runs until the engine exits.  SIGTERM/SIGINT are
 * passed on to the engine (which tells its peers and removes its SAs
 * through the parent), SIGHUP too (the engine asks for the files again).
 * When the engine is gone -- normally or not -- the parent removes
 * whatever SAs and policies it left (kproxy_cleanup) and exits; a crash
 * is not hidden by a restart, because a restarted engine would not know
 * the peers' SAs (the service manager restarts the pair).
 *
 * Ownership: struct priv_parent lives on priv_parent_run()'s stack; it
 * owns the real kernel handle, the kproxy, the channel ends and the
 * parent's copy of the configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ike/auth_cert.h"
#include "ike/iked.h"
#include "ike/kproxy.h"
#include "ike/priv.h"
#include "ike/priv_parent.h"
#include "ike/rw.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/filesrc.h"
#include "lib/log.h"
#include "lib/util.h"
#include "spm/spmif_client.h"

#define MOD	       "privsep"
#define PRIV_MAX_ADDRS 4096

struct priv_parent {
	const struct priv_parent_opts *o;
	struct ev_loop *loop;
	struct ike_cfg *cfg;
	struct kernel kern;
	bool kern_open;
	struct kproxy *kp;
	bool ready, stopping, child_gone;
	bool ev_lost; /* an event could not be forwarded: RESYNC owed */
	int status;   /* the engine's wait status */
	struct kaddr addrs[PRIV_MAX_ADDRS]; /* CP addresses we added */
	size_t naddrs;
	uint8_t buf[PRIV_MAX];
};

/* ---- the engine is gone ---- */

static void child_gone(struct priv_parent *pp, const char *why)
{
	if (pp->child_gone)
		return;
	pp->child_gone = true;
	ev_stop(pp->loop);
	(void)why;
}

/* ---- kernel channel ---- */

/* One request datagram from the engine: 1 served, 0 none waiting,
 * -1 the channel is gone. */
static int kreq_one(struct priv_parent *pp, int fd)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * ESPM_UDP_SOCKS_MAX)];
	} cbuf;
	struct iovec iov = {.iov_base = pp->buf, .iov_len = sizeof(pp->buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	int fds[ESPM_UDP_SOCKS_MAX];
	size_t nfds = 0;
	ssize_t n;

	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* the engine's ESP-in-UDP sockets (ESPM_UDP_SOCKS) */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c;
	     c = CMSG_NXTHDR(&mh, c)) {
		size_t k =
		    c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
			? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int)
			: 0;
		for (size_t j = 0; j < k; j++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof(f));
			if (nfds < ESPM_UDP_SOCKS_MAX)
				fds[nfds++] = f;
			else
				close(f);
		}
	}
	if (n <= 0) {
		for (size_t j = 0; j < nfds; j++)
			close(fds[j]);
		ev_del_fd(pp->loop, fd);
		child_gone(pp, "kernel channel closed");
		return -1;
	}
	if (nfds)
		kproxy_request_fds(pp->kp, fd, pp->buf, (size_t)n, fds, nfds);
	else
		kproxy_request(pp->kp, fd, pp->buf, (size_t)n);
	mem_wipe(pp->buf, (size_t)n);
	return 1;
}

/* The engine writes a CHILD SA's operations at once (k_batch): read
 * what is there (up to KPROXY_BATCH, the loop calls again for more) and
 * answer it with one write. */
static void on_kreq(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct priv_parent *pp = arg;

	(void)loop;
	(void)events;
	kproxy_batch_begin(pp->kp);
	for (int i = 0; i < KPROXY_BATCH && kreq_one(pp, fd) > 0; i++)
		;
	kproxy_batch_end(pp->kp);
}

static void on_kev_chan(struct ev_loop *loop, int fd, uint32_t events,
			void *arg)
{
	struct priv_parent *pp = arg;
	ssize_t n;

	(void)loop;
	(void)events;
	n = recv(fd, pp->buf, sizeof(pp->buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_del_fd(pp->loop, fd);
		child_gone(pp, "event channel closed");
		return;
	}
	kproxy_event_request(pp->kp, fd, pp->buf, (size_t)n);
}

static void on_kevent(const struct kevent *ev, void *arg)
{
	struct priv_parent *pp = arg;
	int fd = pp->o->kevfd;

	if (pp->ev_lost) {
		struct kevent rs;
		kevent_resync(&rs, "privsep event queue overflow");
		if (kproxy_forward(pp->kp, fd, &rs) < 0)
			return; /* still full: this one is lost too */
		pp->ev_lost = false;
	}
	if (kproxy_forward(pp->kp, fd, ev) < 0) {
		/* the engine does not keep up: it reconciles everything
		 * once it gets the RESYNC owed (resync.c) */
		log_rl_warn(MOD,
			    "kernel %s event not passed to the engine "
			    "(channel full)",
			    kevent_name(ev->type));
		pp->ev_lost = true;
	}
}

static void on_kernel(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct priv_parent *pp = arg;

	(void)loop;
	(void)fd;
	(void)events;
	k_event_read(&pp->kern, on_kevent, pp);
}

/* ---- priv channel ---- */

static int reply(int fd, uint32_t seq, int status, const char *why,
		 const struct wr *body, int pass_fd)
{
	struct espm_hdr h = {.type = ESPM_REPLY, .seq = seq, .status = status};
	struct wr w;
	int rc;

	wr_init(&w, PRIV_MAX);
	espm_put_hdr(&w, &h);
	if (status < 0)
		espm_put_str(&w, why && why[0] ? why : strerror(-status));
	else if (body && body->len)
		wr_bytes(&w, body->buf, body->len);
	rc = wr_error(&w) ? wr_error(&w)
			  : priv_sendmsg(fd, w.buf, w.len, pass_fd);
	wr_free(&w);
	return rc;
}

static int do_spmd(struct priv_parent *pp, char *why, size_t whylen, int *out)
{
	static const struct spmif_callbacks cbs = {0};
	const char *path = pp->cfg->spmif_path;
	struct spmif_client *c;
	int rc;

	*out = -1;
	if (!path[0]) {
		snprintf(why, whylen, "no spmd socket is configured");
		return -ENOENT;
	}
	c = spmif_client_new(&cbs, NULL);
	if (!c)
		return -ENOMEM;
	rc = spmif_connect(
	    c, path, pp->cfg->spmd_password[0] ? pp->cfg->spmd_password : NULL);
	if (rc == 0) {
		rc = spmif_release_fd(c);
		if (rc >= 0) {
			*out = rc;
			rc = 0;
		}
	}
	spmif_client_free(c);
	if (rc < 0)
		snprintf(why, whylen, "spmd at %.150s: %s", path,
			 strerror(-rc));
	return rc;
}

static int get_env(struct rd *r, struct priv_env *e)
{
	uint8_t n;

	if (rd_u8(r, &n) < 0 || n > PRIV_SCRIPT_VARS)
		return -EBADMSG;
	e->n = n;
	for (size_t i = 0; i < n; i++)
		if (espm_get_str(r, e->name[i], sizeof(e->name[i])) < 0 ||
		    espm_get_str(r, e->value[i], sizeof(e->value[i])) < 0)
			return -EBADMSG;
	return rd_empty(r) ? 0 : -EBADMSG;
}

static int do_script(struct priv_parent *pp, struct rd *r)
{
	char remote[CFG_NAME_MAX];
	const struct ike_remote *rem;
	struct priv_env *e;
	uint8_t which;
	int rc = -EBADMSG;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (rd_u8(r, &which) < 0 || which >= SCRIPT_MAX ||
	    espm_get_str(r, remote, sizeof(remote)) < 0 || get_env(r, e) < 0 ||
	    !script_env_ok(e))
		goto out;
	/* the program is the one *our* configuration names */
	rem = cfg_remote_by_name(pp->cfg, remote);
	rc = -EPERM;
	if (!rem || !rem->script[which][0])
		goto out;
	script_exec(rem->script[which], which, remote, e);
	rc = 0;
out:
	if (rc < 0)
		log_rl_warn(MOD, "script request of the engine refused (%s)",
			    strerror(-rc));
	free(e);
	return rc;
}

static int do_addr(struct priv_parent *pp, struct rd *r, char *why,
		   size_t whylen)
{
	char ifname[32], a[64];
	struct kaddr addr;
	uint8_t add;
	size_t i;
	int rc;

	if (rd_u8(r, &add) < 0 || add > 1 || espm_get_kaddr(r, &addr) < 0 ||
	    espm_get_str(r, ifname, sizeof(ifname)) < 0 || !rd_empty(r))
		return -EBADMSG;
	if (strcmp(ifname, CP_IFNAME) != 0 ||
	    (addr.af != AF_INET && addr.af != AF_INET6)) {
		snprintf(why, whylen, "only host addresses on %s", CP_IFNAME);
		return -EPERM;
	}
	for (i = 0; i < pp->naddrs; i++)
		if (kaddr_eq(&pp->addrs[i], &addr))
			break;
	if (!add && i == pp->naddrs) {
		snprintf(why, whylen, "%s was not added by iked",
			 kaddr_str(&addr, a, sizeof(a)));
		return -EPERM;
	}
	if (add && i == pp->naddrs && pp->naddrs >= PRIV_MAX_ADDRS)
		return -ENOSPC;
	rc = cp_addr_apply(&addr, ifname, add);
	if (rc < 0)
		return rc;
	if (add && i == pp->naddrs)
		pp->addrs[pp->naddrs++] = addr;
	else if (!add)
		pp->addrs[i] = pp->addrs[--pp->naddrs];
	return 0;
}

/* Signs AUTH octets with the key of our configuration's remote. */
static int do_sign(struct priv_parent *pp, struct rd *r, struct wr *body,
		   char *why, size_t whylen)
{
	char remote[CFG_NAME_MAX];
	const struct ike_remote *rem;
	struct auth_sig sig;
	uint32_t hashes;
	const uint8_t *octets;
	size_t len;
	int rc;

	if (espm_get_str(r, remote, sizeof(remote)) < 0 ||
	    rd_u32(r, &hashes) < 0)
		return -EBADMSG;
	len = rd_left(r);
	/* RFC 7296 §2.15: message octets | nonce | prf(SK_p, ID); with
	 * AUTH_SIGN_IKEV1 an IKEv1 HASH_I/HASH_R (RFC 2409 §5.1), whose
	 * length auth_cert_sign_parent() checks */
	if (len == 0 || rd_ptr(r, len, &octets) < 0)
		return -EBADMSG;
	rem = cfg_remote_by_name(pp->cfg, remote);
	if (!rem || (!(hashes & AUTH_SIGN_IKEV1) && !auth_cert_signs(rem))) {
		snprintf(why, whylen, "remote %.64s signs with no key", remote);
		return -EPERM;
	}
	rc = auth_cert_sign_parent(rem, hashes, octets, len, &sig);
	if (rc < 0) {
		snprintf(why, whylen, "cannot sign for %.64s: %s", remote,
			 strerror(-rc));
		return rc;
	}
	wr_u8(body, sig.method);
	wr_bytes(body, sig.data, sig.len);
	auth_sig_clear(&sig);
	return wr_error(body);
}

struct emit_ctx {
	int fd;
	uint32_t seq;
};

static int emit_item(void *arg, const struct wr *item)
{
	struct emit_ctx *c = arg;
	struct espm_hdr h = {.type = ESPM_ITEM, .seq = c->seq};
	struct wr w;
	int rc;

	wr_init(&w, PRIV_MAX);
	espm_put_hdr(&w, &h);
	wr_bytes(&w, item->buf, item->len);
	rc =
	    wr_error(&w) ? wr_error(&w) : priv_sendmsg(c->fd, w.buf, w.len, -1);
	wr_free(&w);
	return rc;
}

/* Reads the configuration again, recording every file, and sends the
 * files to the engine; our own copy is replaced on success. */
static int do_reload(struct priv_parent *pp, int fd, uint32_t seq, char *why,
		     size_t whylen)
{
	struct emit_ctx c = {.fd = fd, .seq = seq};
	struct ike_cfg *n = NULL;
	int rc;

	filesrc_record_start();
	rc = cfg_load(pp->o->conf_path, &n, why, whylen);
	if (rc == 0)
		rc = filesrc_record_foreach(emit_item, &c);
	filesrc_record_stop();
	if (rc < 0) {
		cfg_free(n);
		log_err(MOD, "reload: %s", why[0] ? why : strerror(-rc));
		return rc;
	}
	cfg_free(pp->cfg);
	pp->cfg = n;
	return 0;
}

static void on_priv(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct priv_parent *pp = arg;
	char why[256] = "";
	struct espm_hdr h;
	struct rd r;
	struct wr body;
	ssize_t n;
	int rc, pass = -1;

	(void)loop;
	(void)events;
	n = priv_recvmsg(fd, pp->buf, sizeof(pp->buf), NULL);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		ev_del_fd(pp->loop, fd);
		child_gone(pp, "priv channel closed");
		return;
	}
	r = rd_init(pp->buf, (size_t)n);
	if (espm_get_hdr(&r, &h) < 0) {
		log_rl_warn(MOD, "malformed message from the engine ignored");
		return;
	}
	switch (h.type) {
	case PRIV_READY:
		pp->ready = true;
		return;
	case PRIV_SCRIPT:
		do_script(pp, &r); /* no reply */
		return;
	case PRIV_SPMD:
		rc = rd_empty(&r) ? do_spmd(pp, why, sizeof(why), &pass)
				  : -EBADMSG;
		break;
	case PRIV_ADDR:
		rc = do_addr(pp, &r, why, sizeof(why));
		break;
	case PRIV_RELOAD:
		rc = rd_empty(&r) ? do_reload(pp, fd, h.seq, why, sizeof(why))
				  : -EBADMSG;
		break;
	case PRIV_SIGN:
		wr_init(&body, 8192);
		rc = do_sign(pp, &r, &body, why, sizeof(why));
		reply(fd, h.seq, rc, why, &body, -1);
		wr_free(&body);
		return;
	default:
		rc = -EPERM;
		snprintf(why, sizeof(why), "message type %u not allowed",
			 h.type);
		break;
	}
	if (rc == -EBADMSG && !why[0])
		snprintf(why, sizeof(why), "malformed request");
	if (rc < 0 && (rc == -EPERM || rc == -EBADMSG))
		log_rl_warn(MOD, "engine request %u refused: %s", h.type, why);
	reply(fd, h.seq, rc, why, NULL, pass);
	if (pass >= 0)
		close(pass);
}

/* ---- signals ---- */

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct priv_parent *pp = arg;
	int st;
	pid_t w;

	(void)loop;
	switch (signo) {
	case SIGCHLD:
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == pp->o->child) {
				pp->status = st;
				child_gone(pp, "exited");
			}
		return;
	case SIGHUP:
		kill(pp->o->child, SIGHUP); /* the engine asks for files */
		return;
	default:
		if (!pp->stopping)
			log_info(MOD, "signal %d: stopping the engine", signo);
		pp->stopping = true;
		kill(pp->o->child, SIGTERM);
		return;
	}
}

/* ---- main ---- */

static void report_exit(struct priv_parent *pp)
{
	int st = pp->status;

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		log_err(MOD,
			"the IKE engine was killed by its seccomp filter "
			"(a system call outside the allowlist in "
			"src/ike/priv_sandbox.c; the kernel log names it as "
			"\"audit: ... syscall=N\").  Run iked with "
			"-Z errno to make such calls fail instead, and "
			"report the call");
	else if (WIFSIGNALED(st))
		log_err(MOD, "the IKE engine died of signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		log_err(MOD, "the IKE engine exited with status %d",
			WEXITSTATUS(st));
}

int priv_parent_run(const struct priv_parent_opts *o, struct ike_cfg *cfg)
{
	struct priv_parent *pp = calloc(1, sizeof(*pp));
	size_t left;
	int rc, kfd, code;

	if (!pp)
		fatal(MOD, "out of memory");
	pp->o = o;
	pp->cfg = cfg;
	pp->loop = ev_new();
	if (!pp->loop)
		fatal(MOD, "cannot create the event loop");
	ev_signal(pp->loop, SIGINT, on_signal, pp);
	ev_signal(pp->loop, SIGTERM, on_signal, pp);
	ev_signal(pp->loop, SIGHUP, on_signal, pp);
	ev_signal(pp->loop, SIGCHLD, on_signal, pp);
	signal(SIGPIPE, SIG_IGN); /* spmd or r2espd may go away mid-write */

	rc = k_open(&pp->kern, o->backend, K_OPEN_EVENTS);
	if (rc < 0) {
		log_err(MOD,
			"kernel backend %s: %s (CHILD SAs cannot be "
			"installed)",
			o->backend, pp->kern.last_error);
	} else {
		pp->kern_open = true;
		kfd = k_event_fd(&pp->kern);
		if (kfd >= 0)
			ev_add_fd(pp->loop, kfd, EPOLLIN, on_kernel, pp);
		log_info(MOD, "kernel backend %s (served to the engine)",
			 o->backend);
	}
	pp->kp = kproxy_new(&pp->kern);
	if (!pp->kp)
		fatal(MOD, "out of memory");
	set_nonblock_cloexec(o->kevfd);
	if (ev_add_fd(pp->loop, o->kfd, EPOLLIN, on_kreq, pp) < 0 ||
	    ev_add_fd(pp->loop, o->kevfd, EPOLLIN, on_kev_chan, pp) < 0 ||
	    ev_add_fd(pp->loop, o->chfd, EPOLLIN, on_priv, pp) < 0)
		fatal(MOD, "cannot watch the engine's channels");

	/* the engine may have died before our SIGCHLD handler existed */
	{
		int st;
		if (waitpid(o->child, &st, WNOHANG) == o->child) {
			pp->status = st;
			pp->child_gone = true;
		}
	}
	if (!pp->child_gone)
		ev_run(pp->loop);
	/* Reap it (the channels may close before SIGCHLD comes). */
	if (waitpid(o->child, &pp->status, 0) < 0 && errno != ECHILD)
		log_warn(MOD, "waitpid: %s", strerror(errno));
	report_exit(pp);
	left = kproxy_sa_count(pp->kp) + kproxy_pol_count(pp->kp);
	if (left) {
		size_t n = kproxy_cleanup(pp->kp);
		log_notice(MOD,
			   "removed %zu of %zu SAs/policies the engine "
			   "left installed",
			   n, left);
	}
	for (size_t i = 0; i < pp->naddrs; i++)
		cp_addr_apply(&pp->addrs[i], CP_IFNAME, false);
	if (pp->ready && o->ctl_path && o->ctl_path[0])
		unlink(o->ctl_path);
	code = pp->stopping && WIFEXITED(pp->status) &&
		       WEXITSTATUS(pp->status) == 0
		   ? 0
		   : 1;
	kproxy_free(pp->kp);
	if (pp->kern_open)
		k_close(&pp->kern);
	ev_free(pp->loop);
	cfg_free(pp->cfg);
	free(pp);
	return code;
}
