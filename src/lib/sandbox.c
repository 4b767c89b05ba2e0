/*
 * sandbox.c - see sandbox.h.  Linux only: credentials, capabilities
 * (capset(2) directly, no libcap), prctl(2) and a classic-BPF seccomp
 * filter built here (no libseccomp).
 */
#include "lib/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "lib/log.h"
#include "lib/util.h"

#define MOD "sandbox"

/* The audit architecture this binary's syscalls are numbered for. */
#if defined(__x86_64__) && defined(__ILP32__)
#error "x32 is not supported by the seccomp filter"
#elif defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SANDBOX_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && !defined(__ARMEB__)
#define SANDBOX_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SANDBOX_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define SANDBOX_ARCH AUDIT_ARCH_S390X
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC 1U
#endif

/* ASan/UBSan builds: their runtime needs a few more system calls. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) ||                                        \
    __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Longest filter we build: 2 instructions per syscall plus a header. */
#define SANDBOX_MAX_SYSCALLS 1000

const int sandbox_syscalls_base[] = {
    SYS_read,
    SYS_write,
    SYS_readv,
    SYS_writev,
    SYS_close,
    SYS_exit,
    SYS_exit_group,
    SYS_rt_sigreturn,
    SYS_rt_sigprocmask,
    SYS_restart_syscall,
    SYS_brk,
    SYS_mmap,
    SYS_munmap,
    SYS_mremap,
    SYS_madvise,
    SYS_mprotect,
    SYS_futex,
    SYS_getrandom,
    SYS_getpid,
    SYS_gettid,
    SYS_getppid,
    SYS_clock_gettime,
    SYS_clock_getres,
    SYS_clock_nanosleep,
    SYS_nanosleep,
    SYS_gettimeofday,
    SYS_epoll_ctl,
    SYS_epoll_pwait,
#ifdef SYS_epoll_wait
    SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait2
    SYS_epoll_pwait2,
#endif
#ifdef SYS_time
    SYS_time,
#endif
#ifdef SYS_mmap2
    SYS_mmap2,
#endif
    /* stdio asks whether stdout is a terminal / its size. */
    SYS_fstat,
#ifdef SYS_newfstatat
    SYS_newfstatat,
#endif
    /* syslog(3) on the socket log_init() opened. */
    SYS_sendto,
#if SANDBOX_SANITIZER
    /* Sanitizer builds only (tests): what the ASan/UBSan runtime does in
     * its interceptors and reports (alternate signal stack, limits,
     * abort). */
    SYS_sigaltstack,
    SYS_rt_sigaction,
    SYS_prlimit64,
#ifdef SYS_getrlimit
    SYS_getrlimit,
#endif
    SYS_sched_getaffinity,
    SYS_sched_yield,
    SYS_tgkill,
    SYS_uname,
    SYS_prctl,
#ifdef SYS_readlink
    SYS_readlink,
#endif
    SYS_readlinkat,
#endif
};
const size_t sandbox_nsyscalls_base =
    sizeof(sandbox_syscalls_base) / sizeof(sandbox_syscalls_base[0]);

/*
 * With the base set, these fail with EPERM rather than kill: libc's
 * syslog reconnects (socket, connect) after journald restarts, and
 * lazy opens (time zone, /dev/log) must just fail.
 */
static const int base_fail[] = {
    SYS_socket,
    SYS_connect,
    SYS_openat,
#ifdef SYS_open
    SYS_open,
#endif
};

__attribute__((format(printf, 3, 4))) static void
fail(char *why, size_t whysize, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_err(MOD, "%s", buf);
	if (why && whysize)
		snprintf(why, whysize, "%s", buf);
}

int sandbox_violation_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "kill"))
		return SANDBOX_KILL;
	if (!strcmp(s, "errno"))
		return SANDBOX_ERRNO;
	if (!strcmp(s, "log"))
		return SANDBOX_LOG;
	if (!strcmp(s, "trap"))
		return SANDBOX_TRAP;
	return -EINVAL;
}

int sandbox_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *why,
			size_t whysize)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	if (!user)
		user = SANDBOX_USER;
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || !res) {
		fail(why, whysize,
		     "user %s does not exist%s%s; create it (e.g. useradd "
		     "--system --no-create-home --shell /usr/sbin/nologin "
		     "--user-group %s, as scripts/deps.sh does)",
		     user, rc ? ": " : "", rc ? strerror(rc) : "", user);
		return rc ? -rc : -ENOENT;
	}
	if (res->pw_uid == 0 || res->pw_gid == 0) {
		fail(why, whysize,
		     "user %s has uid or gid 0: refusing to use it as the "
		     "unprivileged user",
		     user);
		return -EINVAL;
	}
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	return 0;
}

int sandbox_chroot_prepare(const char *dir)
{
	int rc = mkdir_parent(dir);

	if (rc < 0)
		return rc;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* chroot target: a root-owned directory nobody else may write, empty. */
static int check_chroot_dir(const char *dir, char *why, size_t whysize)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	if (stat(dir, &st) < 0) {
		int e = errno;

		fail(why, whysize, "chroot directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fail(why, whysize,
		     "chroot directory %s must be a directory owned by root "
		     "and not writable by group or other",
		     dir);
		return -EPERM;
	}
	d = opendir(dir);
	if (!d) {
		int e = errno;

		fail(why, whysize, "chroot directory %s: %s", dir, strerror(e));
		return -e;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	if (n) {
		fail(why, whysize, "chroot directory %s is not empty", dir);
		return -ENOTEMPTY;
	}
	return 0;
}

static int set_caps(uint64_t keep, char *why, size_t whysize)
{
	struct __user_cap_header_struct hdr = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	    .pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)keep;
	data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0) {
		int e = errno;

		fail(why, whysize, "capset: %s", strerror(e));
		return -e;
	}
#ifdef PR_CAP_AMBIENT
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL) {
		int e = errno;

		fail(why, whysize, "clearing ambient capabilities: %s",
		     strerror(e));
		return -e;
	}
#endif
	return 0;
}

static int drop_bounding(uint64_t keep, char *why, size_t whysize)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		int r;

		if (keep & (UINT64_C(1) << cap))
			continue;
		r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r < 0)
			break; /* past the kernel's last capability */
		if (r == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			int e = errno;

			fail(why, whysize,
			     "dropping capability %d from the bounding set: %s",
			     cap, strerror(e));
			return -e;
		}
	}
	return 0;
}

int sandbox_pdeathsig(int sig, pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0)
		return -errno;
	/* The parent may have died before the prctl. */
	if (getppid() != parent)
		return -ESRCH;
	return 0;
}

static void trap_handler(int sig, siginfo_t *si, void *ctx)
{
	char msg[64] = "sandbox: seccomp refused syscall ";
	char num[16];
	size_t n = strlen(msg), k = 0;
	unsigned v = (unsigned)si->si_syscall;

	(void)sig;
	(void)ctx;
	do {
		num[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < sizeof(num));
	while (k && n < sizeof(msg) - 2)
		msg[n++] = num[--k];
	msg[n++] = '\n';
	(void)!write(STDERR_FILENO, msg, n);
	_exit(128 + SIGSYS);
}

static int build_filter(const struct sandbox_opts *o, struct sock_filter *f,
			size_t cap, size_t *len)
{
	const int *lists[3];
	size_t counts[3];
	size_t n = 0, i, l;
	uint32_t deflt;

	switch (o->on_violation) {
	case SANDBOX_KILL:
		deflt = SECCOMP_RET_KILL_PROCESS;
		break;
	case SANDBOX_ERRNO:
		deflt = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
		break;
	case SANDBOX_LOG:
		deflt = SECCOMP_RET_LOG;
		break;
	case SANDBOX_TRAP:
		deflt = SECCOMP_RET_TRAP;
		break;
	default:
		return -EINVAL;
	}

#define EMIT(ins)                                                              \
	do {                                                                   \
		if (n >= cap)                                                  \
			return -E2BIG;                                         \
		f[n++] = (struct sock_filter)ins;                              \
	} while (0)

	/* A foreign architecture's numbers mean other syscalls: kill. */
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, arch)));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
	/* x32 syscalls share AUDIT_ARCH_X86_64 with bit 30 set. */
	EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	lists[0] = o->base ? sandbox_syscalls_base : NULL;
	counts[0] = o->base ? sandbox_nsyscalls_base : 0;
	lists[1] = o->allow;
	counts[1] = o->allow ? o->nallow : 0;
	for (l = 0; l < 2; l++)
		for (i = 0; i < counts[l]; i++) {
			EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				      (uint32_t)lists[l][i], 0, 1));
			EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		}
	lists[0] = o->base ? base_fail : NULL;
	counts[0] = o->base ? sizeof(base_fail) / sizeof(base_fail[0]) : 0;
	lists[1] = o->fail;
	counts[1] = o->fail ? o->nfail : 0;
	for (l = 0; l < 2; l++)
		for (i = 0; i < counts[l]; i++) {
			EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				      (uint32_t)lists[l][i], 0, 1));
			EMIT(BPF_STMT(BPF_RET | BPF_K,
				      SECCOMP_RET_ERRNO |
					  (EPERM & SECCOMP_RET_DATA)));
		}
	EMIT(BPF_STMT(BPF_RET | BPF_K, deflt));
#undef EMIT
	*len = n;
	return 0;
}

int sandbox_seccomp(const struct sandbox_opts *o, char *why, size_t whysize)
{
	struct sock_filter *f;
	struct sock_fprog prog;
	size_t cap = 8 + 2 * SANDBOX_MAX_SYSCALLS, len = 0;
	int rc;

#ifndef SANDBOX_ARCH
	(void)o;
	fail(why, whysize, "seccomp: unsupported architecture");
	return -ENOSYS;
#else
	if ((o->allow ? o->nallow : 0) + (o->fail ? o->nfail : 0) +
		sandbox_nsyscalls_base + 8 >
	    SANDBOX_MAX_SYSCALLS) {
		fail(why, whysize, "seccomp: too many syscalls");
		return -E2BIG;
	}
	f = calloc(cap, sizeof(*f));
	if (!f) {
		fail(why, whysize, "seccomp: out of memory");
		return -ENOMEM;
	}
	rc = build_filter(o, f, cap, &len);
	if (rc < 0) {
		fail(why, whysize, "seccomp: cannot build the filter: %s",
		     strerror(-rc));
		goto free_filter;
	}
	if (o->on_violation == SANDBOX_TRAP) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = trap_handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0) {
			rc = -errno;
			fail(why, whysize, "sigaction(SIGSYS): %s",
			     strerror(-rc));
			goto free_filter;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		fail(why, whysize, "PR_SET_NO_NEW_PRIVS: %s", strerror(-rc));
		goto free_filter;
	}
	prog.len = (unsigned short)len;
	prog.filter = f;
	/* TSYNC: every thread, or none. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
		rc = -errno;
		if (rc == -EINVAL || rc == -ENOSYS)
			rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog,
				   0, 0) < 0
				 ? -errno
				 : 0;
		if (rc < 0) {
			fail(why, whysize, "installing the seccomp filter: %s",
			     strerror(-rc));
			goto free_filter;
		}
	}
	rc = 0;
free_filter:
	free(f);
	return rc;
#endif
}

int sandbox_caps(uint64_t keep, char *why, size_t whysize)
{
	int rc;

	if (why && whysize)
		why[0] = '\0';
	rc = drop_bounding(keep, why, whysize);
	if (rc < 0)
		return rc;
	rc = set_caps(keep, why, whysize);
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		fail(why, whysize, "PR_SET_NO_NEW_PRIVS: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int sandbox_enter(const struct sandbox_opts *o, char *why, size_t whysize)
{
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;
	int rc;

	if (why && whysize)
		why[0] = '\0';
	/* Any of these gives root back at once. */
	if (o->keep_caps &
	    ((UINT64_C(1) << CAP_SETUID) | (UINT64_C(1) << CAP_SETGID) |
	     (UINT64_C(1) << CAP_SETPCAP) | (UINT64_C(1) << CAP_SYS_ADMIN) |
	     (UINT64_C(1) << CAP_SYS_PTRACE) |
	     (UINT64_C(1) << CAP_SYS_MODULE))) {
		fail(why, whysize,
		     "refusing to keep a capability that can regain root");
		return -EINVAL;
	}
	rc = sandbox_lookup_user(o->user, &uid, &gid, why, whysize);
	if (rc < 0)
		return rc;
	/* Read /etc/localtime now: the chroot hides it. */
	tzset();
	if (o->chroot_dir) {
		rc = check_chroot_dir(o->chroot_dir, why, whysize);
		if (rc < 0)
			return rc;
		if (chroot(o->chroot_dir) < 0 || chdir("/") < 0) {
			rc = -errno;
			fail(why, whysize, "chroot %s: %s", o->chroot_dir,
			     strerror(-rc));
			return rc;
		}
	}
	rc = drop_bounding(o->keep_caps, why, whysize);
	if (rc < 0)
		return rc;
	if (o->keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		fail(why, whysize, "PR_SET_KEEPCAPS: %s", strerror(-rc));
		return rc;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		rc = -errno;
		fail(why, whysize, "switching to user %s (%u:%u): %s",
		     o->user ? o->user : SANDBOX_USER, (unsigned)uid,
		     (unsigned)gid, strerror(-rc));
		return rc;
	}
	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0 || ruid != uid || euid != uid ||
	    suid != uid || rgid != gid || egid != gid || sgid != gid ||
	    setuid(0) == 0 || seteuid(0) == 0) {
		fail(why, whysize, "the uid/gid change did not stick");
		return -EPERM;
	}
	rc = set_caps(o->keep_caps, why, whysize);
	if (rc < 0)
		return rc;
	if (o->keep_caps)
		(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		rc = -errno;
		fail(why, whysize, "PR_SET_DUMPABLE: %s", strerror(-rc));
		return rc;
	}
	if (o->pdeathsig) {
		rc = sandbox_pdeathsig(o->pdeathsig, o->parent);
		if (rc < 0) {
			fail(why, whysize, "parent-death signal: %s",
			     rc == -ESRCH ? "the parent is gone"
					  : strerror(-rc));
			return rc;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		fail(why, whysize, "PR_SET_NO_NEW_PRIVS: %s", strerror(-rc));
		return rc;
	}
	if (o->seccomp) {
		rc = sandbox_seccomp(o, why, whysize);
		if (rc < 0)
			return rc;
	}
	return 0;
}
