/*
 * priv_sandbox.c - the IKE engine's sandbox: the system calls it may
 * make once it has bound its sockets (lib/sandbox.h does the rest: user,
 * chroot, capabilities, no_new_privs, parent-death signal).
 *
 * The list was found by running the netns scenarios (tests/netns
 * iked_*.sh, rw_nat.sh, resync_userspace.sh, interop/ikev2_charon.sh)
 * under `strace -f`: the event loop, UDP in/out, ikedctl's control
 * socket, the blocking calls to the parent, and the route lookup of
 * net_route_src() (a connected UDP socket).  No argument filtering: the
 * chroot is empty and the process holds no capability, so socket() and
 * connect() reach only what an unprivileged user reaches.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ike/priv_parent.h"
#include "lib/log.h"
#include "lib/sandbox.h"

#define MOD "privsep"

static const int engine_allow[] = {
    SYS_socket,		SYS_connect,	     SYS_getsockname,
    SYS_getpeername,	SYS_sendmsg,	     SYS_recvmsg,
    SYS_recvfrom,	SYS_sendto,
#ifdef SYS_sendmmsg
    SYS_sendmmsg,
#endif
#ifdef SYS_recvmmsg
    SYS_recvmmsg, /* net.c: the IKE sockets' batched receive */
#endif
    SYS_accept4,	SYS_getsockopt,	     SYS_setsockopt,
    SYS_shutdown,	SYS_fcntl,	     SYS_epoll_create1,
    SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime,
    SYS_rt_sigaction,	SYS_sigaltstack,     SYS_getuid,
    SYS_geteuid,	SYS_getgid,	     SYS_getegid,
    SYS_sysinfo,	SYS_getrusage,	     SYS_uname,
    SYS_sched_yield,	SYS_lseek,
#ifdef SYS_statx
    SYS_statx,
#endif
#ifdef SYS_poll
    SYS_poll,
#endif
    SYS_ppoll,
};

/* Fail quietly with EPERM: isatty() on stderr; ctl_close() unlinking
 * the control socket at exit (the parent removes it). */
static const int engine_fail[] = {
    SYS_ioctl,
#ifdef SYS_unlink
    SYS_unlink,
#endif
    SYS_unlinkat,
};

int priv_engine_sandbox(const struct priv_sandbox_opts *o)
{
	struct sandbox_opts so = {
	    .user = o->user,
	    .chroot_dir = o->chroot_dir,
	    .keep_caps = 0,
	    .pdeathsig = SIGKILL,
	    .parent = o->parent,
	    .seccomp = true,
	    .base = true,
	    .allow = engine_allow,
	    .nallow = sizeof(engine_allow) / sizeof(engine_allow[0]),
	    .fail = engine_fail,
	    .nfail = sizeof(engine_fail) / sizeof(engine_fail[0]),
	    .on_violation = SANDBOX_KILL,
	};
	char why[256] = "";
	int rc;

	if (o->violation) {
		rc = sandbox_violation_parse(o->violation);
		if (rc < 0) {
			log_err(MOD,
				"unknown seccomp mode \"%s\" (kill, "
				"errno, log, trap)",
				o->violation);
			return rc;
		}
		so.on_violation = (enum sandbox_violation)rc;
	}
	if (o->chroot_dir && (rc = sandbox_chroot_prepare(o->chroot_dir)) < 0) {
		log_err(MOD, "chroot directory %s: %s", o->chroot_dir,
			strerror(-rc));
		return rc;
	}
	rc = sandbox_enter(&so, why, sizeof(why));
	if (rc < 0) {
		log_err(MOD, "cannot enter the sandbox: %s", why);
		return rc;
	}
	log_info(MOD, "engine sandboxed: user %s, chroot %s, seccomp %s",
		 o->user ? o->user : SANDBOX_USER,
		 o->chroot_dir ? o->chroot_dir : "none",
		 o->violation ? o->violation : "kill");
	return 0;
}
