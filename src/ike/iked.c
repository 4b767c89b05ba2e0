/*
 * iked.c - the IKEv2 daemon: command line, start-up, signals, spmd and
 * kernel event glue, initiate and reload.
 *
 *   iked [-f FILE] [-t] [-F] [-d]... [-k BACKEND] [-S CTLSOCK]
 *        [-K KEYFILE] [-n]
 *
 * -t checks the configuration and exits; -F stays in the foreground and
 * logs to stderr; -d raises the log level (once: info, twice: debug);
 * -k picks the kernel backend (default: the config's `kernel`, else
 * xfrm); -S the control socket; -K enables key export (see
 * keyexport.c); -n runs without spmd (ACQUIREs then come straight from
 * the kernel backend).
 *
 * Ownership: one struct iked for the process; it owns the config, the
 * kernel handle, the sockets and the SA table.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/resync.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/pidfile.h"
#include "lib/util.h"
#include "spm/spmif_client.h"

#define MOD "iked"
#define DEFAULT_CTL "/var/run/racoon2/iked.sock"

/* ---- spmd ---- */

static void on_acquire(struct spmif_client *c, const struct spmif_acquire *a,
		       void *arg)
{
	struct iked *d = arg;
	char err[160];

	(void)c;
	log_info(MOD, "ACQUIRE for policy %s (remote %s, reqid %u)", a->policy,
		 a->remote, a->reqid);
	/* RFC 7296 §2.9: the packet's TS goes first, as on the -n path */
	if (iked_initiate(d, a->remote, a->policy[0] ? a->policy : NULL,
			  a->pkt.af ? &a->pkt : NULL, err, sizeof(err)) < 0)
		log_warn(MOD, "ACQUIRE for %s: %s", a->policy, err);
}

static int spm_connect(struct iked *d);

static void spm_retry(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct iked *d = arg;

	(void)loop;
	(void)t;
	if (spm_connect(d) < 0)
		ev_timer_start(d->loop, &d->spm_retry, 5000);
}

static void on_spmd_closed(struct spmif_client *c, int err, void *arg)
{
	struct iked *d = arg;

	(void)c;
	log_warn(MOD, "connection to spmd lost (%s); retrying",
		 err ? strerror(-err) : "EOF");
	/* Freed from the timer, not inside its own callback. */
	ev_timer_start(d->loop, &d->spm_retry, 1000);
}

static int spm_connect(struct iked *d)
{
	static const struct spmif_callbacks cbs = {
		.acquire = on_acquire,
		.closed = on_spmd_closed,
	};
	const char *path = d->cfg->spmif_path;
	int rc;

	if (d->spm) {
		spmif_client_free(d->spm);
		d->spm = NULL;
	}
	if (d->opts.no_spmd || !path[0])
		return 0;
	d->spm = spmif_client_new(&cbs, d);
	if (!d->spm)
		return -ENOMEM;
	rc = spmif_connect(d->spm, path,
			   d->cfg->spmd_password[0] ? d->cfg->spmd_password
						    : NULL);
	if (rc == 0)
		rc = spmif_register(d->spm, SPMIF_KMP_IKEV2);
	if (rc == 0)
		rc = spmif_attach(d->spm, d->loop);
	if (rc < 0) {
		log_warn(MOD, "spmd at %s: %s", path, strerror(-rc));
		spmif_client_free(d->spm);
		d->spm = NULL;
		return rc;
	}
	log_info(MOD, "registered with spmd at %s", path);
	return 0;
}

/* ---- kernel events ---- */

static void on_kevent(const struct kevent *ev, void *arg)
{
	struct iked *d = arg;
	const struct ike_policy *p;
	char err[160];

	switch (ev->type) {
	case KEV_EXPIRE:
		if (ev->u.expire.proto == IPPROTO_ESP)
			child_kernel_expire(d, ev->u.expire.spi,
					    ev->u.expire.hard);
		break;
	case KEV_MAPPING:
		natt_kernel_mapping(d, ev); /* natt.c */
		break;
	case KEV_RESYNC:
		iked_resync(d, ev->u.resync.reason); /* resync.c */
		break;
	case KEV_ACQUIRE:
		/* spmd routes ACQUIREs; only without it do we act. */
		if (d->spm)
			break;
		p = cfg_policy_by_reqid(d->cfg, ev->u.acquire.tmpl.reqid);
		if (p && iked_initiate(d, p->remote, p->name,
				       &ev->u.acquire.sel, err,
				       sizeof(err)) < 0)
			log_warn(MOD, "ACQUIRE: %s", err);
		break;
	default:
		break;
	}
}

static void kev_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct iked *d = arg;

	(void)loop;
	(void)fd;
	(void)events;
	k_event_read(&d->kern, on_kevent, d);
}

/* ---- reload ---- */

int iked_reload(struct iked *d, char *err, size_t errlen)
{
	struct ike_cfg *n = NULL;
	int rc;

	rc = cfg_load(d->opts.conf_path, &n, err, errlen);
	if (rc < 0) {
		log_err(MOD, "reload failed, keeping the old configuration: "
			"%s", err);
		return rc;
	}
	cfg_free(d->cfg);
	d->cfg = n;
	log_info(MOD, "configuration reloaded from %s", d->opts.conf_path);
	/* SAs refer to remotes by name: those whose remote vanished are
	 * deleted. */
	{
		struct ike_sa *sa;
		for (sa = d->sas; sa; sa = sa->next)
			if (sa->state != IKE_S_DEAD &&
			    !cfg_remote_by_name(d->cfg, sa->remote))
				ike_queue_ike_delete(sa);
	}
	return 0;
}

/* ---- signals ---- */

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct iked *d = arg;
	char err[256];

	if (signo == SIGHUP) {
		iked_reload(d, err, sizeof(err));
		return;
	}
	log_info(MOD, "signal %d, shutting down", signo);
	ev_stop(loop);
}

static void shutdown_sas(struct iked *d)
{
	struct ike_sa *sa;
	int i;

	/* Tell peers (best effort: one DELETE each, no waiting beyond a
	 * short drain), then remove everything from the kernel. */
	for (sa = d->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED && !sa->req_out) {
			struct task *t = task_new(TASK_IKE_DELETE);
			if (t) {
				sa->active = t;
				if (info_initiate(sa, t) != 0) {
					sa->active = NULL;
					task_free(t);
				}
			}
		}
	for (i = 0; i < 5; i++)
		ev_run_once(d->loop, 50);
	for (sa = d->sas; sa; sa = sa->next)
		ike_sa_kill(sa, "shutdown");
	while (d->sas)
		ike_sa_free(d->sas);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: iked [-f file] [-t] [-F] [-d] [-k backend] "
		"[-S ctlsock] [-K keyfile] [-p pidfile] [-n]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct iked d;
	char err[512] = "";
	const char *backend, *pidpath = NULL;
	struct pidfile pf;
	int opt, rc, kfd;

	memset(&d, 0, sizeof(d));
	d.ctl_fd = -1;
	d.opts.conf_path = SYSCONFDIR "/racoon2/racoon2.conf";
	while ((opt = getopt(argc, argv, "f:tFdk:S:K:p:nh")) != -1) {
		switch (opt) {
		case 'f': d.opts.conf_path = optarg; break;
		case 't': d.opts.test_only = true; break;
		case 'F': d.opts.foreground = true; break;
		case 'd': d.opts.debug++; break;
		case 'k': d.opts.backend = optarg; break;
		case 'S': d.opts.ctl_path = optarg; break;
		case 'K': d.opts.keyexport = optarg; break;
		case 'p': pidpath = optarg; break;
		case 'n': d.opts.no_spmd = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("iked",
		 d.opts.foreground || d.opts.test_only ? LOG_TO_STDERR
						       : LOG_TO_SYSLOG,
		 d.opts.debug >= 2 ? LOG_LVL_DEBUG :
		 d.opts.debug == 1 ? LOG_LVL_INFO : LOG_LVL_NOTICE);

	rc = cfg_load(d.opts.conf_path, &d.cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "iked: %s\n", err);
		return 1;
	}
	if (d.opts.test_only) {
		printf("iked: %s: configuration OK (%zu IKEv2 remotes, %zu "
		       "policies)\n", d.opts.conf_path, d.cfg->nremote,
		       d.cfg->npolicy);
		cfg_free(d.cfg);
		return 0;
	}

	/* single instance (lib/pidfile.h, lib/ctlsock.h): the pid file and
	 * the control socket are checked before any other socket or
	 * kernel state is touched; a second iked stops with a message */
	pidfile_init(&pf);
	if (pidpath && pidfile_lock(&pf, pidpath, "iked", err, sizeof(err)) < 0)
		fatal(MOD, "%s", err);
	d.loop = ev_new();
	if (!d.loop)
		fatal(MOD, "cannot create the event loop");
	snprintf(d.ctl_path, sizeof(d.ctl_path), "%s",
		 d.opts.ctl_path ? d.opts.ctl_path :
		 d.cfg->ctl_path[0] ? d.cfg->ctl_path : DEFAULT_CTL);
	if ((rc = ctl_open(&d)) < 0)
		fatal(MOD, "control socket %s: %s", d.ctl_path, strerror(-rc));
	ev_timer_init(&d.reaper, iked_reap, &d);
	ev_timer_init(&d.spm_retry, spm_retry, &d);
	ev_signal(d.loop, SIGINT, on_signal, &d);
	ev_signal(d.loop, SIGTERM, on_signal, &d);
	ev_signal(d.loop, SIGHUP, on_signal, &d);
	signal(SIGPIPE, SIG_IGN);

	backend = d.opts.backend;
	if (!backend)
		backend = strcmp(d.cfg->kernel, "userspace") == 0 ? "userspace"
			: strcmp(d.cfg->kernel, "pfkey") == 0	 ? "pfkey"
								 : "xfrm";
	rc = k_open(&d.kern, backend, K_OPEN_EVENTS);
	if (rc < 0) {
		log_err(MOD, "kernel backend %s: %s (CHILD SAs cannot be "
			"installed)", backend, d.kern.last_error);
	} else {
		d.kern_open = true;
		kfd = k_event_fd(&d.kern);
		if (kfd >= 0)
			ev_add_fd(d.loop, kfd, EPOLLIN, kev_read, &d);
		log_info(MOD, "kernel backend %s", backend);
	}

	if (d.opts.keyexport || d.cfg->keyexport_path[0]) {
		const char *kp = d.opts.keyexport ? d.opts.keyexport
						  : d.cfg->keyexport_path;
		if ((rc = keyexport_open(&d, kp)) < 0)
			fatal(MOD, "key export file %s: %s", kp,
			      strerror(-rc));
	}

	if (net_open(&d) < 0)
		fatal(MOD, "cannot open any IKE socket");
	if (spm_connect(&d) < 0)
		ev_timer_start(d.loop, &d.spm_retry, 2000);
	rw_daemon_init(&d); /* spmd dynamic policies, NAT keepalives */
	if (!d.opts.foreground && daemon(0, 0) < 0)
		fatal(MOD, "daemon: %s", strerror(errno));
	if ((rc = pidfile_write(&pf)) < 0)
		fatal(MOD, "pid file %s: %s", pidpath, strerror(-rc));
	log_notice(MOD, "iked started (%zu remotes, %zu policies)",
		   d.cfg->nremote, d.cfg->npolicy);

	rc = ev_run(d.loop);
	if (rc < 0)
		log_err(MOD, "event loop: %s", strerror(-rc));

	shutdown_sas(&d);
	rw_free(&d);
	ctl_close(&d);
	net_close(&d);
	if (d.spm)
		spmif_client_free(d.spm);
	if (d.kern_open)
		k_close(&d.kern);
	keyexport_close(&d);
	ev_free(d.loop);
	cfg_free(d.cfg);
	pidfile_remove(&pf);
	log_notice(MOD, "iked stopped");
	return rc < 0 ? 1 : 0;
}
