/*
 * spmd.c - the security policy manager daemon: reads racoon2.conf,
 * installs the static policies through the kernel ops table, serves
 * spmif, routes ACQUIREs, reloads on SIGHUP and removes exactly what it
 * installed on SIGTERM/SIGINT.
 *
 * main() owns struct spmd and everything in it; the pidfile path and
 * configuration path are borrowed from argv.
 */
#include "spm/spmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "lib/notify.h"
#include "lib/paths.h"
#include "lib/pidfile.h"
#include "kernel/userspace/esp_msg.h"
#include "spm/resolver.h"
#include "spm/spd_conf.h"

#define MOD		"spmd"
#define DEFAULT_PIDFILE R2_SPMD_PIDFILE

/* This process's CPU time (user + system), for the start-up log line:
 * on a busy machine the wall times mostly measure the scheduler. */
static uint64_t cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spmd [-FktVh] [-d ...] [-D LEVEL] [-f FILE] "
		"[-p PIDFILE] [--kernel BACKEND]\n"
		"  -f, --config-file FILE  configuration (default %s)\n"
		"  -F, --foreground        stay in the foreground, log to "
		"stderr\n"
		"  -d, --debug             more debugging output (repeatable)\n"
		"  -D, --DEBUG LEVEL       debug level directly (0: off)\n"
		"  -k, --kill              stop the running spmd (SIGTERM to "
		"the\n"
		"                          pid in the pid file) and exit\n"
		"  -V, --version           print the version and exit\n"
		"  -t, --check             check the configuration and exit\n"
		"  -p, --pidfile PIDFILE   pid file (default %s)\n"
		"  --kernel BACKEND        kernel backend, overrides the "
		"configuration\n"
		"                          (xfrm, pfkey, userspace, fake)\n",
		CONF_DEFAULT_PATH, DEFAULT_PIDFILE);
}

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct spmd *d = arg;

	if (signo == SIGHUP) {
		char *err = calloc(1, 16384);
		struct spd_plan counts;

		log_info(MOD, "SIGHUP: reloading %s", d->conf_path);
		if (err) {
			(void)spmd_reload(d, err, 16384, &counts);
			free(err);
		}
		return;
	}
	log_info(MOD, "signal %d: shutting down", signo);
	ev_stop(loop);
}

static void on_kevent(const struct kevent *ev, void *arg)
{
	struct spmd *d = arg;

	switch (ev->type) {
	case KEV_ACQUIRE:
		spmif_server_acquire(d->srv, ev);
		break;
	case KEV_MIGRATE:
		spmif_server_migrate(d->srv, ev);
		break;
	case KEV_POL_EXPIRE:
		if (ev->u.pol_expire.hard)
			spd_pol_expired(&d->spd, ev->u.pol_expire.index);
		break;
	case KEV_RESYNC:
		/* the backend lost policies or events: put ours back */
		spmd_resync(d, ev->u.resync.reason);
		break;
	default:
		/* SA events are the key daemons' business */
		break;
	}
}

static void kernel_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct spmd *d = arg;
	int rc = k_event_read(&d->k, on_kevent, d);

	if (rc < 0 && rc != -EAGAIN)
		log_rl_warn(MOD, "kernel events: %s", d->k.last_error);
}

/* The directory of a run-time file (lib/util.h mkdir_parent, 0700). */
static void run_dir(const char *path)
{
	int rc = mkdir_parent(path);

	if (rc < 0)
		log_warn(MOD, "directory of %s: %s", path, strerror(-rc));
}

/* racoon2's spmd -k: SIGTERM to the pid in the pid file. */
static int kill_running(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		fprintf(stderr, "spmd: %s: %s (is spmd running?)\n", path,
			strerror(errno));
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "spmd: %s: no pid\n", path);
		return 1;
	}
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 1 ||
	    pid > INT32_MAX) {
		fprintf(stderr, "spmd: %s: not a pid\n", path);
		return 1;
	}
	if (kill((pid_t)pid, SIGTERM) < 0) {
		fprintf(stderr, "spmd: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *pidfile = DEFAULT_PIDFILE;
	const char *backend = NULL;
	bool check = false, fg = false;
	int debug = 0, opt, rc, err;
	struct pidfile pf;
	char why[512];
	struct spmd d;
	struct spd_set desired;
	char *errbuf;

	/* racoon2's spmd options (-f -F -d -D -k -V -h and their long
	 * forms) with racoon2's meaning; -t, -p and --kernel are ours */
	static const struct option longopts[] = {
	    {"config-file", required_argument, NULL, 'f'},
	    {"foreground", no_argument, NULL, 'F'},
	    {"debug", no_argument, NULL, 'd'},
	    {"DEBUG", required_argument, NULL, 'D'},
	    {"kill", no_argument, NULL, 'k'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"check", no_argument, NULL, 't'},
	    {"pidfile", required_argument, NULL, 'p'},
	    {"kernel", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	bool kill_now = false;

	while ((opt = getopt_long(argc, argv, "f:tFdD:p:kVh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'f':
			conf_path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'F':
			fg = true;
			break;
		case 'd':
			debug++;
			break;
		case 'D': {
			char *end;
			long lvl = strtol(optarg, &end, 10);

			if (end == optarg || *end || lvl < 0 || lvl > 9) {
				fprintf(stderr, "spmd: -D needs a level 0-9\n");
				usage(stderr);
				return 2;
			}
			debug = (int)lvl;
			break;
		}
		case 'p':
			pidfile = optarg;
			break;
		case 'k':
			kill_now = true;
			break;
		case 'K':
			backend = optarg;
			break;
		case 'V':
			printf("spmd (racoon2) %s\n", "0.1.0");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (kill_now)
		return kill_running(pidfile);
	memset(&d, 0, sizeof(d));
	d.conf_path = conf_path ? conf_path : CONF_DEFAULT_PATH;
	/* daemon() moves to /: keep the path valid for reloads */
	char *abs = realpath(d.conf_path, NULL);

	if (abs)
		d.conf_path = abs;

	log_init("spmd", LOG_TO_STDERR, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	uint64_t t_load = ev_now_ms(), c_load = cpu_ms();

	rc = conf_cli_load_ex("spmd", d.conf_path,
			      check ? 0 : CONF_LOAD_SRCINDEX,
			      check ? NULL : &d.conf);
	if (check || rc != 0) {
		free(abs);
		return check ? rc : 1;
	}
	d.backend =
	    backend ? backend : conf_kernel_backend(d.conf->iface.kernel);
	spmd_ns_from_conf(&d, d.conf);
	t_load = ev_now_ms() - t_load;
	c_load = cpu_ms() - c_load;

	/* one spmd per pid file: checked before any socket or kernel
	 * state is touched, and still on stderr */
	run_dir(pidfile);
	if (pidfile_lock(&pf, pidfile, "spmd", why, sizeof(why)) < 0)
		fatal(MOD, "%s", why);
	if (!fg) {
		log_init("spmd", LOG_TO_SYSLOG,
			 debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		if (daemon(0, 0) < 0)
			fatal(MOD, "daemon: %s", strerror(errno));
	}
	if ((rc = pidfile_write(&pf)) < 0)
		fatal(MOD, "pid file %s: %s", pidfile, strerror(-rc));

	/* resolver { resolver on; }: the DNS proxy runs in a sandboxed
	 * child forked now, before any kernel handle or socket exists */
	d.resolver = resolver_new(&d, d.conf, pf.fd, &err);
	if (!d.resolver)
		fatal(MOD, "resolver: %s",
		      err == -ECHILD ? "the DNS proxy process did not start "
				       "(see above)"
				     : strerror(-err));
	d.loop = ev_new();
	if (!d.loop)
		fatal(MOD, "event loop: out of memory");
	if (resolver_attach(d.resolver, d.loop) < 0)
		fatal(MOD, "resolver: out of memory");
	d.started_ms = ev_now_ms();
	spmd_resync_init(&d);
	/* interface { kernel_socket PATH; }: r2espd's socket for the
	 * userspace backend; the environment variable still overrides */
	if (d.conf->iface.kernel_socket &&
	    setenv(ESPM_SOCKET_ENV, d.conf->iface.kernel_socket, 0) < 0)
		fatal(MOD, "setenv: %s", strerror(errno));
	rc = k_open(&d.k, d.backend, K_OPEN_EVENTS);
	if (rc < 0)
		fatal(MOD, "kernel backend %s: %s", d.backend,
		      d.k.last_error[0] ? d.k.last_error : strerror(-rc));
	if (spd_init(&d.spd, &d.k, d.loop) < 0)
		fatal(MOD, "out of memory");

	/* the socket first: a second spmd must not touch the kernel */
	run_dir(spd_conf_socket(d.conf));
	d.srv = spmif_server_new(&d, spd_conf_socket(d.conf),
				 d.conf->iface.spmd_password, &err);
	if (!d.srv)
		fatal(MOD, "spmif socket %s: %s", spd_conf_socket(d.conf),
		      strerror(-err));
	d.spd.gone_cb = spmif_server_dyn_gone;
	d.spd.gone_arg = d.srv;

	uint64_t t_inst = ev_now_ms(), c_inst = cpu_ms();

	errbuf = calloc(1, 65536);
	if (!errbuf)
		fatal(MOD, "out of memory");
	spd_set_init(&desired);
	rc = spd_conf_build(&d.spd, d.conf, &desired, errbuf, 65536);
	if (rc < 0)
		fatal(MOD, "building policies: %s", strerror(-rc));
	if (errbuf[0])
		log_warn(MOD, "%s", errbuf);
	errbuf[0] = '\0';
	rc = spd_start(&d.spd, &desired, errbuf, 65536);
	if (rc < 0)
		log_err(MOD, "some policies could not be installed:\n%s",
			errbuf);
	free(errbuf);
	spmd_trim();
	log_info(MOD,
		 "%zu static policies installed (backend %s); config "
		 "loaded in %" PRIu64 " ms, policies built and installed "
		 "in %" PRIu64 " ms (CPU %" PRIu64 " + %" PRIu64 " ms)",
		 d.spd.stat.n, d.backend, t_load, ev_now_ms() - t_inst, c_load,
		 cpu_ms() - c_inst);

	if (k_event_fd(&d.k) >= 0 &&
	    ev_add_fd(d.loop, k_event_fd(&d.k), EPOLLIN, kernel_io, &d) < 0)
		fatal(MOD, "cannot watch kernel events");
	if (ev_signal(d.loop, SIGTERM, on_signal, &d) < 0 ||
	    ev_signal(d.loop, SIGINT, on_signal, &d) < 0 ||
	    ev_signal(d.loop, SIGHUP, on_signal, &d) < 0)
		fatal(MOD, "cannot set up signal handling");
	signal(SIGPIPE, SIG_IGN);

	/* systemd Type=notify: spmif serves, the policies are installed */
	r2_notify("READY=1");
	rc = ev_run(d.loop);
	r2_notify("STOPPING=1");
	if (rc < 0)
		log_err(MOD, "event loop: %s", strerror(-rc));

	if (ev_timer_active(&d.resync_timer))
		ev_timer_stop(d.loop, &d.resync_timer);
	/* clients first: their dynamic policies go with them */
	spmif_server_free(d.srv);
	resolver_free(d.resolver);
	spd_remove_all(&d.spd);
	spd_free(&d.spd);
	if (k_event_fd(&d.k) >= 0)
		ev_del_fd(d.loop, k_event_fd(&d.k));
	k_close(&d.k);
	ev_free(d.loop);
	conf_free(d.conf);
	free(abs);
	pidfile_remove(&pf);
	log_info(MOD, "exiting");
	return rc < 0 ? 1 : 0;
}
