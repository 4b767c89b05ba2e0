/*
 * iked.c - the IKEv2 daemon: command line, start-up, signals, spmd and
 * kernel event glue, initiate and reload.
 *
 *   iked [racoon2's options: -f -F -d -D -v -V -l -h -p -t -4 -6 -I -S -P]
 *        [-k BACKEND] [-K KEYFILE] [-n] [-u USER] [-C DIR]
 *        [--check] [--ctl-socket CTLSOCK] [--pidfile FILE] [--no-privsep]
 *        [--workers N]
 *
 * --check checks the configuration and exits; -F stays in the
 * foreground and logs to stderr; -d raises the log level (once: info,
 * twice: debug); -k picks the kernel backend (default: the config's
 * `kernel`, else xfrm); --ctl-socket the control socket; -K enables key
 * export (see keyexport.c); -n runs without spmd (ACQUIREs then come
 * straight from the kernel backend); racoon2's -P writes a pcap file
 * (pcap.c), -I/-S initiate at start; --workers N crypto threads for the
 * responder's IKE_SA_INIT (cwork.h; default: one per CPU the process may
 * run on, none on one CPU).
 *
 * Ownership: one struct iked for the process; it owns the config, the
 * kernel handle, the sockets and the SA table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ike/auth_cert.h"
#include "ike/cwork.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "ike/resync.h"
#include "ike/rw.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/paths.h"
#include "lib/pidfile.h"
#include "lib/util.h"
#include "ike/migrate.h"
#include "ike/priv.h"
#include "ike/addrmon.h"
#include "ike/priv_parent.h"
#include "lib/filesrc.h"
#include "lib/sandbox.h"
#include "ike/v1.h"
#include "spm/spmif_client.h"

#define MOD	       "iked"
#define DEFAULT_CTL    R2_IKED_SOCKET
#define DEFAULT_CHROOT R2_CHROOT_DIR

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
	if (iked_initiate_acquire(d, a->remote, a->policy[0] ? a->policy : NULL,
				  a->pkt.af ? &a->pkt : NULL, a->reqid, err,
				  sizeof(err)) < 0)
		log_warn(MOD, "ACQUIRE for %s: %s", a->policy, err);
}

static void on_migrate(struct spmif_client *c, const struct spmif_migrate_ev *m,
		       void *arg)
{
	(void)c;
	ike_migrate(arg, m);
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
	    .migrate = on_migrate,
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
	if (priv_fd >= 0) {
		/* the parent connects and logs in (priv.h) */
		int fd = priv_spmd_connect();
		rc = fd < 0 ? fd : spmif_connect_fd(d->spm, fd);
		if (fd >= 0 && rc < 0)
			close(fd);
	} else {
		rc = spmif_connect(
		    d->spm, path,
		    d->cfg->spmd_password[0] ? d->cfg->spmd_password : NULL);
	}
	if (rc == 0)
		rc = spmif_register(d->spm, SPMIF_KMP_IKEV2);
	/* ACQUIREs of remotes whose acceptable_kmp starts with ikev1 (v1.c) */
	if (rc == 0 && cfg_has_ikev1(d->cfg))
		rc = spmif_register(d->spm, SPMIF_KMP_IKEV1);
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
		if ((ev->u.expire.proto == IPPROTO_ESP ||
		     ev->u.expire.proto == IPPROTO_AH) &&
		    !v1_kernel_expire(d, ev->u.expire.spi, ev->u.expire.hard))
			child_kernel_expire(d, ev->u.expire.spi,
					    ev->u.expire.hard);
		break;
	case KEV_MAPPING:
		natt_kernel_mapping(d, ev); /* natt.c */
		break;
	case KEV_RESYNC:
		/* a restarted r2espd holds none of our sockets */
		net_give_esp(d);
		iked_resync(d, ev->u.resync.reason); /* resync.c */
		break;
	case KEV_ACQUIRE:
		/* spmd routes ACQUIREs; only without it do we act. */
		if (d->spm)
			break;
		p = cfg_policy_by_reqid(d->cfg, ev->u.acquire.tmpl.reqid);
		if (p && iked_initiate_acquire(
			     d, p->remote, p->name, &ev->u.acquire.sel,
			     ev->u.acquire.tmpl.reqid, err, sizeof(err)) < 0)
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

	if (priv_fd >= 0) {
		/* The engine reads no file: the parent reads them all and
		 * sends them; we parse exactly those bytes (filesrc.h). */
		err[0] = 0;
		rc = priv_reload_files(err, errlen);
		if (rc == 0) {
			filesrc_replay_begin();
			rc = cfg_load(d->opts.conf_path, &n, err, errlen);
		}
		/* (keys were withheld: auth_cert.c leaves them to the
		 * parent in replay mode) */
		filesrc_replay_end();
	} else {
		rc = cfg_load(d->opts.conf_path, &n, err, errlen);
	}
	if (rc < 0) {
		log_err(MOD,
			"reload failed, keeping the old configuration: "
			"%s",
			err);
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
	v1_shutdown(d); /* IKEv1: Deletes, kernel state, freed (v1.c) */
}

static void usage(void)
{
	fprintf(stderr,
		"usage: iked [-f file] [-p port] [-t port] [-46] [-I address] "
		"[-S selector]\n"
		"            [-D number] [-FdvVh] [-l logfile] [-P pcapfile]\n"
		"            [-k backend] [-K keyfile] [-n] [-u user] "
		"[-C chroot-dir]\n"
		"            [--check] [--ctl-socket ctlsock] "
		"[--pidfile pidfile] [--no-privsep]\n"
		"            [--seccomp kill|errno|log|trap] [--workers n]\n");
	exit(2);
}

/* A port number option (racoon2's -p and -t). */
static uint16_t port_arg(const char *opt, const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (end == s || *end || v < 1 || v > 65535) {
		fprintf(stderr,
			"iked: port number expected for command line "
			"option %s\n",
			opt);
		usage();
	}
	return (uint16_t)v;
}

/* racoon2's -I ADDRESS / -S SELECTOR: initiate once the engine runs. */
static struct ev_timer initiate_timer;

static void initiate_at_start(struct ev_loop *loop, struct ev_timer *t,
			      void *arg)
{
	struct iked *d = arg;
	const struct ike_policy *p = NULL;
	const char *remote = NULL;
	char err[160] = "";
	int rc;

	(void)loop;
	(void)t;
	if (d->opts.initiate_sel) {
		for (size_t i = 0; i < d->cfg->npolicy && !p; i++)
			if (strcmp(d->cfg->policy[i].sel_name,
				   d->opts.initiate_sel) == 0)
				p = &d->cfg->policy[i];
		if (!p) {
			log_err(MOD, "-S %s: no IKEv2 policy has this selector",
				d->opts.initiate_sel);
			return;
		}
		remote = p->remote;
	} else {
		struct kaddr a;

		memset(&a, 0, sizeof(a));
		if (inet_pton(AF_INET, d->opts.initiate_addr, &a.u.v4) == 1)
			a.af = AF_INET;
		else if (inet_pton(AF_INET6, d->opts.initiate_addr, &a.u.v6) ==
			 1)
			a.af = AF_INET6;
		for (size_t i = 0; a.af && i < d->cfg->nremote && !remote; i++)
			if (!d->cfg->remote[i].peer_any &&
			    kaddr_eq(&d->cfg->remote[i].peer_addr, &a))
				remote = d->cfg->remote[i].name;
		if (!remote) {
			log_err(MOD,
				"-I %s: no IKEv2 remote has this "
				"peers_ipaddr",
				d->opts.initiate_addr);
			return;
		}
	}
	rc = iked_initiate(d, remote, p ? p->name : NULL, NULL, err,
			   sizeof(err));
	if (rc < 0)
		log_err(MOD, "initiating to %s: %s", remote,
			err[0] ? err : strerror(-rc));
	else
		log_notice(MOD, "initiating to %s (%s %s)", remote,
			   d->opts.initiate_sel ? "-S" : "-I",
			   d->opts.initiate_sel ? d->opts.initiate_sel
						: d->opts.initiate_addr);
}

/* racoon2's -l LOGFILE: the log goes to the file instead of syslog
 * (through stderr, which the privsep children inherit). */
static void log_to_file(const char *path)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		fprintf(stderr, "iked: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		fprintf(stderr, "iked: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

/* daemon(3), keeping the -l log file as stderr. */
static int iked_daemon(const char *logfile)
{
	if (daemon(0, 0) < 0)
		return -1;
	if (logfile)
		log_to_file(logfile);
	return 0;
}

/* The engine: sockets, IKE, the SA table.  kfd/kevfd >= 0: privilege
 * separated (the kernel through the parent, then the sandbox). */
static int engine_run(struct iked *d, const char *backend, int kfd, int kevfd,
		      const struct priv_sandbox_opts *sb)
{
	int rc, efd;

	d->loop = ev_new();
	if (!d->loop)
		fatal(MOD, "cannot create the event loop");
	ev_timer_init(&d->reaper, iked_reap, d);
	ev_timer_init(&d->spm_retry, spm_retry, d);
	ev_signal(d->loop, SIGINT, on_signal, d);
	ev_signal(d->loop, SIGTERM, on_signal, d);
	ev_signal(d->loop, SIGHUP, on_signal, d);
	signal(SIGPIPE, SIG_IGN);
	/* single instance (lib/ctlsock.h): checked before any IKE socket,
	 * key export file or kernel request, so a second iked changes
	 * nothing */
	if ((rc = ctl_open(d)) < 0)
		fatal(MOD, "control socket %s: %s", d->ctl_path, strerror(-rc));

	/* privilege separated: the data plane behind the channel is the
	 * parent's backend, and so are its features (kernel.h k_has) */
	rc = kfd >= 0
		 ? k_open_channel(&d->kern, kfd, kevfd, kernel_backend(backend))
		 : k_open(&d->kern, backend, K_OPEN_EVENTS);
	if (rc < 0) {
		log_err(MOD,
			"kernel backend %s: %s (CHILD SAs cannot be "
			"installed)",
			backend, d->kern.last_error);
	} else {
		d->kern_open = true;
		efd = k_event_fd(&d->kern);
		if (efd >= 0)
			ev_add_fd(d->loop, efd, EPOLLIN, kev_read, d);
		log_info(MOD, "kernel backend %s%s", backend,
			 kfd >= 0 ? " (through the privileged parent)" : "");
	}

	if (d->opts.pcap && (rc = ike_pcap_open(d, d->opts.pcap)) < 0)
		fatal(MOD, "pcap file %s: %s", d->opts.pcap, strerror(-rc));
	if (d->opts.keyexport || d->cfg->keyexport_path[0]) {
		const char *kp = d->opts.keyexport ? d->opts.keyexport
						   : d->cfg->keyexport_path;
		if ((rc = keyexport_open(d, kp)) < 0)
			fatal(MOD, "key export file %s: %s", kp, strerror(-rc));
	}

	/* Bound and created as root, before the sandbox. */
	if (net_open(d) < 0)
		fatal(MOD, "cannot open any IKE socket");
	net_give_esp(d); /* NAT-T with r2espd (net.c) */
	addrmon_open(d); /* MOBIKE: local address changes (addrmon.h) */
	/* Crypto workers: started before the sandbox, whose seccomp filter
	 * (TSYNC) and credentials (glibc changes them in every thread)
	 * then cover them too; the filter has no clone(2). */
	rc = cwork_start(d, d->opts.workers < 0 ? cwork_default()
						: (unsigned)d->opts.workers);
	if (rc < 0)
		log_warn(MOD, "crypto workers: %s (the loop does the work)",
			 strerror(-rc));
	if (sb) {
		if (priv_engine_sandbox(sb) < 0)
			fatal(MOD, "the IKE engine cannot drop its privileges "
				   "(run with --no-privsep to run without "
				   "privilege separation)");
		priv_send_ready();
	}
	if (spm_connect(d) < 0)
		ev_timer_start(d->loop, &d->spm_retry, 2000);
	rw_daemon_init(d); /* spmd dynamic policies, NAT keepalives */
	if (d->opts.initiate_addr || d->opts.initiate_sel) {
		ev_timer_init(&initiate_timer, initiate_at_start, d);
		ev_timer_start(d->loop, &initiate_timer, 500);
	}
	log_notice(MOD, "iked started (%zu remotes, %zu policies%s)",
		   d->cfg->nremote, d->cfg->npolicy,
		   sb ? ", privilege separated" : "");

	rc = ev_run(d->loop);
	if (rc < 0)
		log_err(MOD, "event loop: %s", strerror(-rc));

	cwork_stop(d);
	shutdown_sas(d);
	hidx_free(&d->by_spi);
	hidx_free(&d->by_peer);
	rw_free(d);
	ctl_close(d);
	addrmon_close(d);
	net_close(d);
	if (d->spm)
		spmif_client_free(d->spm);
	if (d->kern_open)
		k_close(&d->kern);
	keyexport_close(d);
	ike_pcap_close(d);
	ev_free(d->loop);
	cfg_free(d->cfg);
	crypto_cleanup(); /* the workers are gone */
	log_notice(MOD, "iked stopped");
	return rc < 0 ? 1 : 0;
}

/*
 * Transparent huge pages for the malloc heap.  A responder's memory grows
 * with every SA it holds (struct ike_sa alone is several KiB), and with
 * 4 KiB pages each new SA takes page faults that cost about a tenth of
 * its CPU (perf, bench/ike_load.sh; ARCHITECTURE.md "iked threads").
 * When the kernel gives huge pages only on request (THP "madvise", the
 * usual default), glibc asks for them when GLIBC_TUNABLES sets
 * glibc.malloc.hugetlb=1, read only at startup: iked re-executes itself
 * once with it added.  A GLIBC_TUNABLES that names glibc.malloc.hugetlb
 * already (=0 turns this off), THP "always" or "never", a secure-mode
 * start (the tunable would be dropped) or a failing exec: no change.
 */
static void malloc_thp_reexec(char **argv)
{
	const char *tun = getenv("GLIBC_TUNABLES");
	char mode[128] = "", env[1024], self[4096];
	FILE *f;
	int n;

	if ((tun && strstr(tun, "glibc.malloc.hugetlb")) ||
	    getauxval(AT_SECURE))
		return;
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (!f)
		return;
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = '\0';
	fclose(f);
	if (!strstr(mode, "[madvise]"))
		return;
	n = snprintf(env, sizeof(env), "%s%sglibc.malloc.hugetlb=1",
		     tun ? tun : "", tun && *tun ? ":" : "");
	if (n < 0 || (size_t)n >= sizeof(env) ||
	    setenv("GLIBC_TUNABLES", env, 1) < 0)
		return;
	/* exec the file itself, not /proc/self/exe: the kernel names the
	 * process after the path's last component, and ps, ss, pgrep and
	 * systemd must keep seeing "iked", not "exe" */
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len > 0 && (size_t)len < sizeof(self) - 1) {
		self[len] = '\0';
		execv(self, argv);
	}
	/* not re-executed: run as is, without the variable we added */
	if (tun)
		(void)setenv("GLIBC_TUNABLES", tun, 1);
	else
		(void)unsetenv("GLIBC_TUNABLES");
}

int main(int argc, char **argv)
{
	struct iked d;
	struct priv_sandbox_opts sb = {.chroot_dir = DEFAULT_CHROOT};
	struct priv_parent_opts po = {0};
	struct ike_cfg *pcfg = NULL;
	char err[512] = "";
	const char *backend, *pidpath = NULL;
	char backend_name[32];
	struct pidfile pf;
	bool privsep = true;
	int opt, rc, kp[2], ep[2], cp[2];
	uid_t uid;
	gid_t gid;
	pid_t pid;

	malloc_thp_reexec(argv);
	memset(&d, 0, sizeof(d));
	d.ctl_fd = -1;
	d.opts.conf_path = SYSCONFDIR "/racoon2/racoon2.conf";
	d.opts.workers = -1;
	/* racoon2's iked options with racoon2's meaning (its iked/main.c
	 * and iked.8): -f -F -d -D -v -V -l -h -p -t -4 -6 -I -S -P and the
	 * long forms.  Earlier versions of this iked used -p, -S, -P and -t
	 * for the pid file, control socket, no privilege separation and
	 * check: those are --pidfile, --ctl-socket, --no-privsep and
	 * --check now (iked(8), Compatibility). */
	enum {
		OPT_CHECK = 256,
		OPT_CTL,
		OPT_PIDFILE,
		OPT_NOPRIVSEP,
		OPT_SECCOMP,
		OPT_WORKERS,
	};
	static const struct option longopts[] = {
	    {"config-file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"foreground", no_argument, NULL, 'F'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"debug", required_argument, NULL, 'D'},
	    {"port", required_argument, NULL, 'p'},
	    {"targetport", required_argument, NULL, 't'},
	    {"ipv4", no_argument, NULL, '4'},
	    {"ipv6", no_argument, NULL, '6'},
	    {"logfile", required_argument, NULL, 'l'},
	    {"initiate", required_argument, NULL, 'I'},
	    {"initiate-selector", required_argument, NULL, 'S'},
	    {"pcapfile", required_argument, NULL, 'P'},
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"ctl-socket", required_argument, NULL, OPT_CTL},
	    {"pidfile", required_argument, NULL, OPT_PIDFILE},
	    {"no-privsep", no_argument, NULL, OPT_NOPRIVSEP},
	    {"workers", required_argument, NULL, OPT_WORKERS},
	    {"kernel", required_argument, NULL, 'k'},
	    {"keyexport", required_argument, NULL, 'K'},
	    {"no-spmd", no_argument, NULL, 'n'},
	    {"user", required_argument, NULL, 'u'},
	    {"chroot", required_argument, NULL, 'C'},
	    {"seccomp", required_argument, NULL, OPT_SECCOMP},
	    {NULL, 0, NULL, 0},
	};
	const char *logfile = NULL;
	bool verbose = false;

	while ((opt = getopt_long(
		    argc, argv, "f:hVFvdD:p:t:46l:I:S:P:k:K:nu:C:Z:", longopts,
		    NULL)) != -1) {
		switch (opt) {
		case 'D': {
			char *end;
			long flags = strtol(optarg, &end, 0);

			if (end == optarg || *end || flags < 0) {
				fprintf(stderr, "iked: number expected for "
						"command line option -D\n");
				usage();
			}
			/* racoon2's debug flags: any flag means debug */
			if (flags && d.opts.debug < 2)
				d.opts.debug = 2;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("racoon2 iked version %s\n", "0.1.0");
			return 0;
		case 'l':
			logfile = optarg;
			break;
		case 'h':
			fprintf(stderr, "iked: IKEv2 key management daemon; "
					"see iked(8)\n");
			usage();
			break;
		case 'f':
			d.opts.conf_path = optarg;
			break;
		case 'p':
			d.opts.port = port_arg("-p", optarg);
			break;
		case 't':
			d.opts.target_port = port_arg("-t", optarg);
			break;
		case '4':
		case '6':
			if (d.opts.only_af &&
			    d.opts.only_af !=
				(opt == '4' ? AF_INET : AF_INET6)) {
				fprintf(stderr, "iked: options '--ipv4' and "
						"'--ipv6' are exclusive\n");
				usage();
			}
			d.opts.only_af = opt == '4' ? AF_INET : AF_INET6;
			break;
		case 'I':
			d.opts.initiate_addr = optarg;
			break;
		case 'S':
			d.opts.initiate_sel = optarg;
			break;
		case 'P':
			d.opts.pcap = optarg;
			break;
		case OPT_CHECK:
			d.opts.test_only = true;
			break;
		case 'F':
			d.opts.foreground = true;
			break;
		case 'd':
			d.opts.debug++;
			break;
		case 'k':
			d.opts.backend = optarg;
			break;
		case OPT_CTL:
			d.opts.ctl_path = optarg;
			break;
		case 'K':
			d.opts.keyexport = optarg;
			break;
		case OPT_PIDFILE:
			pidpath = optarg;
			break;
		case 'n':
			d.opts.no_spmd = true;
			break;
		case OPT_NOPRIVSEP:
			privsep = false;
			break;
		case OPT_WORKERS: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || n > CWORK_MAX) {
				fprintf(stderr, "iked: --workers: 0 to %u\n",
					CWORK_MAX);
				return 2;
			}
			d.opts.workers = (int)n;
			break;
		}
		case 'u':
			sb.user = optarg;
			break;
		case 'C':
			sb.chroot_dir = optarg;
			break;
		case 'Z':
		case OPT_SECCOMP:
			sb.violation = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (sb.violation && sandbox_violation_parse(sb.violation) < 0)
		usage();
	if (logfile)
		log_to_file(logfile);
	log_init("iked",
		 d.opts.foreground || d.opts.test_only || logfile
		     ? LOG_TO_STDERR
		 : verbose ? LOG_TO_SYSLOG | LOG_TO_STDERR
			   : LOG_TO_SYSLOG,
		 d.opts.debug >= 2   ? LOG_LVL_DEBUG
		 : d.opts.debug == 1 ? LOG_LVL_INFO
				     : LOG_LVL_NOTICE);

	rc = cfg_load(d.opts.conf_path, &d.cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "iked: %s\n", err);
		return 1;
	}
	if (d.opts.test_only) {
		printf("iked: %s: configuration OK (%zu remotes, %zu "
		       "policies)\n",
		       d.opts.conf_path, d.cfg->nremote, d.cfg->npolicy);
		cfg_free(d.cfg);
		return 0;
	}

	/* single instance (lib/pidfile.h): the pid file is locked before
	 * any socket or kernel state is touched; a second iked stops with a
	 * message.  (The control socket is checked by the engine, before it
	 * drops its privileges, and by the second iked's engine alike.) */
	pidfile_init(&pf);
	if (pidpath && pidfile_lock(&pf, pidpath, "iked", err, sizeof(err)) < 0)
		fatal(MOD, "%s", err);
	/* r2espd's socket from the configuration; the environment
	 * variable still overrides (inherited by the privsep parent) */
	if (d.cfg->kernel_socket[0])
		setenv("RACOON2_ESPD_SOCKET", d.cfg->kernel_socket, 0);
	/* a copy: the privsep parent frees d.cfg before it hands the
	 * backend name on */
	snprintf(backend_name, sizeof(backend_name), "%s",
		 d.opts.backend ? d.opts.backend : d.cfg->kernel);
	backend = backend_name;
	snprintf(d.ctl_path, sizeof(d.ctl_path), "%s",
		 d.opts.ctl_path      ? d.opts.ctl_path
		 : d.cfg->ctl_path[0] ? d.cfg->ctl_path
				      : DEFAULT_CTL);
	if (!privsep) {
		if (!d.opts.foreground && iked_daemon(logfile) < 0)
			fatal(MOD, "daemon: %s", strerror(errno));
		if ((rc = pidfile_write(&pf)) < 0)
			fatal(MOD, "pid file %s: %s", pidpath, strerror(-rc));
		r2_notify("READY=1"); /* systemd Type=notify (iked.8) */
		rc = engine_run(&d, backend, -1, -1, NULL);
		r2_notify("STOPPING=1");
		pidfile_remove(&pf);
		return rc;
	}

	/* Privilege separation (priv.h).  Checked here, while errors still
	 * reach the terminal. */
	if (sandbox_lookup_user(sb.user, &uid, &gid, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"iked: %s (or run with --no-privsep: no privilege "
			"separation)\n",
			err);
		return 1;
	}
	/* The parent keeps its own copy of the configuration. */
	rc = cfg_load(d.opts.conf_path, &pcfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "iked: %s\n", err);
		return 1;
	}
	(void)mkdir_parent(sb.chroot_dir); /* lib/util.h: 0700 */
	/* Before the fork: the engine's parent-death signal refers to the
	 * process that stays. */
	if (!d.opts.foreground && iked_daemon(logfile) < 0)
		fatal(MOD, "daemon: %s", strerror(errno));
	if ((rc = pidfile_write(&pf)) < 0) /* the parent's pid */
		fatal(MOD, "pid file %s: %s", pidpath, strerror(-rc));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kp) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ep) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cp) < 0)
		fatal(MOD, "socketpair: %s", strerror(errno));
	sb.parent = getpid();
	pid = fork();
	if (pid < 0)
		fatal(MOD, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(kp[0]);
		close(ep[0]);
		close(cp[0]);
		cfg_free(pcfg);
		/* the engine holds no private key: the parent signs */
		auth_cert_forget_keys(d.cfg);
		priv_fd = cp[1];
		return engine_run(&d, backend, kp[1], ep[1], &sb);
	}
	close(kp[1]);
	close(ep[1]);
	close(cp[1]);
	cfg_free(d.cfg);
	po.conf_path = d.opts.conf_path;
	po.backend = backend;
	po.ctl_path = d.ctl_path;
	po.child = pid;
	po.kfd = kp[0];
	po.kevfd = ep[0];
	po.chfd = cp[0];
	log_info(MOD, "privileged parent %d, IKE engine %d", (int)getpid(),
		 (int)pid);
	/* systemd Type=notify from the main (parent) process: the engine
	 * is started; it opens its sockets next (iked.8). */
	r2_notify("READY=1");
	rc = priv_parent_run(&po, pcfg);
	r2_notify("STOPPING=1");
	pidfile_remove(&pf);
	return rc;
}
