/*
 * sandbox.h - the one way a racoon2 daemon drops privileges (Linux).
 *
 * A daemon that parses network input opens everything it needs as root
 * (sockets, devices, files), then calls sandbox_enter() in the process
 * that parses peer packets.  In order, sandbox_enter():
 *
 *   1. looks up the unprivileged user (default SANDBOX_USER, "_racoon2";
 *      a missing user is a clear error, never a silent fallback to root),
 *   2. optionally chroots to an empty, root-owned directory that nobody
 *      else may write (and chdirs to "/"),
 *   3. drops every capability from the bounding set except `keep_caps`,
 *   4. setgroups(the user's group only), setresgid, setresuid (all three
 *      ids), and checks that root cannot be regained,
 *   5. sets the permitted/effective capabilities to exactly `keep_caps`
 *      (0 = none, the strongly preferred value), inheritable and ambient
 *      to none,
 *   6. marks the process non-dumpable (no ptrace by other processes of
 *      the same user, no core dumps of key material),
 *   7. optionally sets the parent-death signal (after the uid change,
 *      which would clear it) and fails with -ESRCH if the parent is
 *      already gone,
 *   8. PR_SET_NO_NEW_PRIVS,
 *   9. installs a seccomp-BPF filter (classic BPF, hand-written): the
 *      audit architecture must be the one this binary was built for, the
 *      syscall number must be in the allowlist; anything else kills the
 *      whole process (SECCOMP_RET_KILL_PROCESS), or, for debugging,
 *      fails with ENOSYS, is logged by the kernel and allowed, or raises
 *      SIGSYS with a handler that names the syscall.
 *
 * Every step either succeeds or sandbox_enter() returns a negative errno
 * with the reason in why[] (and at err level in the log, module
 * "sandbox"); the caller must then exit: a half-applied sandbox is not
 * usable.  Call it while single-threaded.
 *
 * Things a sandboxed process can no longer do, so do them before:
 * open files (chroot), resolve users/hosts (NSS), load the time zone
 * (sandbox_enter calls tzset() first), open syslog (log_init opens it
 * with LOG_NDELAY).
 */
#ifndef RACOON_SANDBOX_H
#define RACOON_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The default unprivileged user; scripts/deps.sh creates it. */
#define SANDBOX_USER "_racoon2"

/* What a syscall outside the allowlist does. */
enum sandbox_violation {
	SANDBOX_KILL = 0, /* SECCOMP_RET_KILL_PROCESS (production) */
	SANDBOX_ERRNO,	  /* fails with ENOSYS (debugging) */
	SANDBOX_LOG,	  /* SECCOMP_RET_LOG: allowed, logged by the kernel */
	SANDBOX_TRAP,	  /* SIGSYS; the handler names the syscall, aborts */
};

struct sandbox_opts {
	/* User to run as; NULL = SANDBOX_USER. */
	const char *user;
	/*
	 * Directory to chroot into, or NULL for none.  It must exist, be a
	 * directory owned by root, not writable by group or other, and
	 * empty.
	 */
	const char *chroot_dir;
	/*
	 * Capabilities (bit n = CAP n) kept permitted and effective after
	 * the uid change.  0 = none; prefer asking a privileged parent.
	 */
	uint64_t keep_caps;
	/* Parent-death signal (0 = none) and the parent it refers to. */
	int pdeathsig;
	pid_t parent;
	/*
	 * seccomp: when `seccomp` is false no filter is installed (the
	 * other steps still apply).  Otherwise the allowlist is
	 * sandbox_syscalls_base (if `base`) plus allow[0..nallow); the
	 * syscalls in fail[0..nfail) fail with EPERM instead of killing
	 * (for harmless probes by libc, e.g. syslog reconnecting).
	 */
	bool seccomp;
	bool base;
	const int *allow;
	size_t nallow;
	const int *fail;
	size_t nfail;
	enum sandbox_violation on_violation;
};

/*
 * What every event-loop daemon needs: exit, signals, memory, time,
 * read/write/close, epoll, getrandom, futex.  Nothing that opens files
 * or sockets.
 */
extern const int sandbox_syscalls_base[];
extern const size_t sandbox_nsyscalls_base;

/*
 * Looks up `user` (NULL = SANDBOX_USER): 0 and the uid and gid, -ENOENT (with
 * a hint on how to create it in why[]) if there is no such user.
 */
int sandbox_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *why,
			size_t whysize);

/*
 * Makes the chroot directory of a sandbox when it is missing, as root
 * before the drop: its parent (e.g. R2_RUNDIR, which also holds the
 * control sockets) 0700 (util.h mkdir_parent), the directory itself
 * 0755, both root's.  An
 * existing directory is left as it is: sandbox_enter() checks owner,
 * mode and emptiness.  0 or negative errno.
 */
int sandbox_chroot_prepare(const char *dir);

/* The whole sequence above.  why may be NULL. */
int sandbox_enter(const struct sandbox_opts *o, char *why, size_t whysize);

/*
 * Only the parent-death part: signal `sig` when the parent dies; -ESRCH
 * if it is already dead (getppid() != parent).  Note that any later
 * change of uid/gid clears it: sandbox_enter() sets it at the right time
 * when asked to.
 */
int sandbox_pdeathsig(int sig, pid_t parent);

/*
 * Only the seccomp part (no_new_privs, then the filter) with the given
 * options' seccomp fields.
 */
int sandbox_seccomp(const struct sandbox_opts *o, char *why, size_t whysize);

/*
 * Only the capability part, for a process that stays root but needs
 * little (a privileged parent): drops every capability from the
 * bounding set except keep, sets permitted and effective to keep,
 * inheritable and ambient to none, and sets no_new_privs.  keep may hold
 * any capability here (the caller stays root anyway).
 */
int sandbox_caps(uint64_t keep, char *why, size_t whysize);

/*
 * Parses "kill", "errno", "log", "trap" (for a debugging option or
 * environment variable); -EINVAL otherwise.
 */
int sandbox_violation_parse(const char *s);

#endif
