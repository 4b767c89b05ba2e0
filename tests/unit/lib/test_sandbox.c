/*
 * test_sandbox.c - src/lib/sandbox.h: each test forks, the child enters
 * the sandbox and reports what the kernel says about it
 * (/proc/self/status: Uid, Gid, Groups, NoNewPrivs, Seccomp, CapEff,
 * CapPrm, CapBnd), or dies the way it must (a syscall outside the
 * allowlist kills it with SIGSYS; the parent's death kills it).
 *
 * Needs root (to switch users) and an unprivileged user: $R2_SANDBOX_USER,
 * else _racoon2, else nobody; the tests skip otherwise.
 */
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cmocka.h>

#include "lib/log.h"
#include "lib/sandbox.h"

static const char *test_user;
static uid_t test_uid;
static gid_t test_gid;

static int find_user(void)
{
	static const char *cands[] = {NULL, SANDBOX_USER, "nobody"};
	size_t i;

	if (geteuid() != 0)
		return -1;
	cands[0] = getenv("R2_SANDBOX_USER");
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct passwd *pw;

		if (!cands[i])
			continue;
		pw = getpwnam(cands[i]);
		if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
			test_user = cands[i];
			test_uid = pw->pw_uid;
			test_gid = pw->pw_gid;
			return 0;
		}
	}
	return -1;
}

#define NEED_ROOT_AND_USER()                                                   \
	do {                                                                   \
		if (!test_user) {                                              \
			print_message(                                         \
			    "needs root and an unprivileged user\n");          \
			skip();                                                \
		}                                                              \
	} while (0)

/* Runs fn in a child; returns its wait status.  out gets its report. */
static int run_child(int (*fn)(int fd, void *arg), void *arg, char *out,
		     size_t outsize)
{
	int pfd[2], status = 0;
	size_t n = 0;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		_exit(fn(pfd[1], arg));
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r = read(pfd[0], out + n, outsize - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == outsize - 1)
			break;
	}
	out[n] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* The value of "Key:\t..." in a /proc/self/status dump. */
static const char *field(const char *status, const char *key, char *buf,
			 size_t bufsize)
{
	const char *p = status;
	size_t klen = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;

			while (*v == '\t' || *v == ' ')
				v++;
			e = strchr(v, '\n');
			if (!e)
				e = v + strlen(v);
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			snprintf(buf, bufsize, "%.*s", (int)(e - v), v);
			return buf;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static const int extra_allow[] = {SYS_pread64};

struct child_args {
	struct sandbox_opts o;
	int status_fd;
};

/* Enters the sandbox, then sends /proc/self/status (opened before). */
static int child_status(int fd, void *arg)
{
	struct child_args *a = arg;
	char buf[4096], why[256];
	ssize_t n;
	int sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (sfd < 0)
		return 10;
	if (sandbox_enter(&a->o, why, sizeof(why)) < 0) {
		(void)!write(fd, why, strlen(why));
		return 11;
	}
	n = pread(sfd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 12;
	(void)!write(fd, buf, (size_t)n);
	return 0;
}

static void test_missing_user(void **state)
{
	char why[256];
	uid_t uid;
	gid_t gid;
	struct sandbox_opts o = {.user = "_r2_no_such_user_x"};

	(void)state;
	assert_int_equal(sandbox_lookup_user("_r2_no_such_user_x", &uid, &gid,
					     why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "_r2_no_such_user_x does not exist"));
	assert_non_null(strstr(why, "useradd"));
	/* sandbox_enter fails before changing anything. */
	assert_int_equal(sandbox_enter(&o, why, sizeof(why)), -ENOENT);
	assert_int_equal(geteuid(), geteuid());
	/* root is never the unprivileged user. */
	assert_int_equal(
	    sandbox_lookup_user("root", &uid, &gid, why, sizeof(why)), -EINVAL);
}

static void test_status(void **state)
{
	struct child_args a = {0};
	char out[4096], v[128], want[64];
	int st;

	(void)state;
	NEED_ROOT_AND_USER();
	a.o.user = test_user;
	a.o.seccomp = true;
	a.o.base = true;
	a.o.allow = extra_allow;
	a.o.nallow = 1;
	st = run_child(child_status, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		print_message("child: %d %s\n", WEXITSTATUS(st), out);
	assert_int_equal(WEXITSTATUS(st), 0);

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)test_uid,
		 (unsigned)test_uid, (unsigned)test_uid, (unsigned)test_uid);
	assert_string_equal(field(out, "Uid", v, sizeof(v)), want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)test_gid,
		 (unsigned)test_gid, (unsigned)test_gid, (unsigned)test_gid);
	assert_string_equal(field(out, "Gid", v, sizeof(v)), want);
	snprintf(want, sizeof(want), "%u", (unsigned)test_gid);
	assert_string_equal(field(out, "Groups", v, sizeof(v)), want);
	assert_string_equal(field(out, "NoNewPrivs", v, sizeof(v)), "1");
	assert_string_equal(field(out, "Seccomp", v, sizeof(v)), "2");
	assert_string_equal(field(out, "CapEff", v, sizeof(v)),
			    "0000000000000000");
	assert_string_equal(field(out, "CapPrm", v, sizeof(v)),
			    "0000000000000000");
	assert_string_equal(field(out, "CapInh", v, sizeof(v)),
			    "0000000000000000");
	assert_string_equal(field(out, "CapBnd", v, sizeof(v)),
			    "0000000000000000");
}

static void test_keep_caps(void **state)
{
	struct child_args a = {0};
	char out[4096], v[128], why[256];
	struct sandbox_opts bad = {0};
	int st;

	(void)state;
	NEED_ROOT_AND_USER();
	a.o.user = test_user;
	a.o.keep_caps = UINT64_C(1) << CAP_NET_ADMIN;
	st = run_child(child_status, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(field(out, "CapEff", v, sizeof(v)),
			    "0000000000001000");
	assert_string_equal(field(out, "CapPrm", v, sizeof(v)),
			    "0000000000001000");
	assert_string_equal(field(out, "CapBnd", v, sizeof(v)),
			    "0000000000001000");
	assert_string_equal(field(out, "NoNewPrivs", v, sizeof(v)), "1");
	assert_string_equal(field(out, "Seccomp", v, sizeof(v)), "0");

	/* A capability that gives root back is refused up front. */
	bad.user = test_user;
	bad.keep_caps = UINT64_C(1) << CAP_SETUID;
	assert_int_equal(sandbox_enter(&bad, why, sizeof(why)), -EINVAL);
	assert_int_equal(geteuid(), 0);
}

/* Enters the sandbox, then calls getuid(), which is not allowed. */
static int child_forbidden(int fd, void *arg)
{
	struct child_args *a = arg;
	char why[256];
	long r;

	if (sandbox_enter(&a->o, why, sizeof(why)) < 0) {
		(void)!write(fd, why, strlen(why));
		return 11;
	}
	/* Allowed: the report must get through. */
	(void)!write(fd, "in\n", 3);
	r = syscall(SYS_getuid);
	if (r < 0 && errno == ENOSYS)
		return 20; /* SANDBOX_ERRNO */
	return 21;
}

static void test_forbidden_kills(void **state)
{
	struct child_args a = {0};
	char out[512];
	int st;

	(void)state;
	NEED_ROOT_AND_USER();
	a.o.user = test_user;
	a.o.seccomp = true;
	a.o.base = true;
	st = run_child(child_forbidden, &a, out, sizeof(out));
	assert_string_equal(out, "in\n");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);

	/* Debugging mode: the call fails with ENOSYS instead. */
	a.o.on_violation = SANDBOX_ERRNO;
	st = run_child(child_forbidden, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 20);

	/* Trap mode: the handler names the syscall. */
	a.o.on_violation = SANDBOX_TRAP;
	st = run_child(child_forbidden, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 128 + SIGSYS);
}

/* A syscall of another ABI is killed whatever the list says. */
static int child_other_arch(int fd, void *arg)
{
	struct child_args *a = arg;
	char why[256];

	if (sandbox_enter(&a->o, why, sizeof(why)) < 0) {
		(void)!write(fd, why, strlen(why));
		return 11;
	}
	(void)!write(fd, "in\n", 3);
#if defined(__x86_64__)
	/* x32 getpid (bit 30 set): getpid is in the base list. */
	syscall(0x40000000L | SYS_getpid);
	return 21;
#else
	return 22;
#endif
}

static void test_other_abi_kills(void **state)
{
	struct child_args a = {0};
	char out[512];
	int st;

	(void)state;
	NEED_ROOT_AND_USER();
#if !defined(__x86_64__)
	skip();
#endif
	a.o.user = test_user;
	a.o.seccomp = true;
	a.o.base = true;
	a.o.on_violation = SANDBOX_ERRNO;
	st = run_child(child_other_arch, &a, out, sizeof(out));
	assert_string_equal(out, "in\n");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* socket() and openat() fail with EPERM under the base list. */
static int child_fail_list(int fd, void *arg)
{
	struct child_args *a = arg;
	char why[256];
	int s;

	if (sandbox_enter(&a->o, why, sizeof(why)) < 0) {
		(void)!write(fd, why, strlen(why));
		return 11;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s >= 0 || errno != EPERM)
		return 30;
	s = open("/etc/passwd", O_RDONLY);
	if (s >= 0 || errno != EPERM)
		return 31;
	return 0;
}

static void test_fail_list(void **state)
{
	struct child_args a = {0};
	char out[512];
	int st;

	(void)state;
	NEED_ROOT_AND_USER();
	a.o.user = test_user;
	a.o.seccomp = true;
	a.o.base = true;
	st = run_child(child_fail_list, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* After the chroot, the host's files are gone. */
static int child_chroot(int fd, void *arg)
{
	struct child_args *a = arg;
	char why[256], cwd[64];
	struct stat st;

	if (sandbox_enter(&a->o, why, sizeof(why)) < 0) {
		(void)!write(fd, why, strlen(why));
		return 11;
	}
	if (stat("/etc", &st) == 0 || errno != ENOENT)
		return 40;
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/"))
		return 41;
	if (stat("/", &st) < 0 || st.st_uid != 0)
		return 42;
	return 0;
}

static void test_chroot(void **state)
{
	struct child_args a = {0};
	char dir[] = "/tmp/r2sbXXXXXX", file[64], out[512], why[256];
	int st, fd;

	(void)state;
	NEED_ROOT_AND_USER();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	a.o.user = test_user;
	a.o.chroot_dir = dir;
	st = run_child(child_chroot, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st))
		print_message("child: %d %s\n", WEXITSTATUS(st), out);
	assert_int_equal(WEXITSTATUS(st), 0);

	/* Writable by others: refused (before any change). */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(sandbox_enter(&a.o, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "owned by root"));
	assert_int_equal(chmod(dir, 0755), 0);
	/* Not owned by root: refused. */
	assert_int_equal(chown(dir, test_uid, 0), 0);
	assert_int_equal(sandbox_enter(&a.o, why, sizeof(why)), -EPERM);
	assert_int_equal(chown(dir, 0, 0), 0);
	/* Not empty: refused. */
	snprintf(file, sizeof(file), "%s/x", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sandbox_enter(&a.o, why, sizeof(why)), -ENOTEMPTY);
	assert_non_null(strstr(why, "not empty"));
	assert_int_equal(unlink(file), 0);
	/* Missing: refused. */
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(sandbox_enter(&a.o, why, sizeof(why)), -ENOENT);
	assert_int_equal(geteuid(), 0);
}

/*
 * The middle process forks the sandboxed grandchild (pdeathsig SIGKILL)
 * and exits; the grandchild must die.  We are its subreaper.
 */
static void test_pdeathsig(void **state)
{
	int ready[2], report[2], st;
	pid_t mid, gc = 0;
	char c;

	(void)state;
	NEED_ROOT_AND_USER();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(report), 0);
	mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		pid_t me = getpid(), g;

		g = fork();
		if (g < 0)
			_exit(1);
		if (g == 0) {
			struct sandbox_opts o = {.user = test_user,
						 .pdeathsig = SIGKILL,
						 .parent = me};
			char why[256];

			if (sandbox_enter(&o, why, sizeof(why)) < 0)
				_exit(2);
			/* Tell the middle process we are in, then wait. */
			(void)!write(ready[1], "r", 1);
			for (;;)
				pause();
		}
		/* Wait for the grandchild to be ready, then die. */
		if (read(ready[0], &c, 1) != 1)
			_exit(3);
		(void)!write(report[1], &g, sizeof(g));
		_exit(0);
	}
	close(ready[0]);
	close(ready[1]);
	close(report[1]);
	assert_int_equal(read(report[0], &gc, sizeof(gc)), (ssize_t)sizeof(gc));
	close(report[0]);
	assert_int_equal(waitpid(mid, &st, 0), mid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* Reaped by us as subreaper: the grandchild died of SIGKILL. */
	assert_int_equal(waitpid(gc, &st, 0), gc);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);

	/* The parent named is not ours: -ESRCH at once. */
	assert_int_equal(sandbox_pdeathsig(0, getppid() + 1), -ESRCH);
}

static void test_violation_parse(void **state)
{
	(void)state;
	assert_int_equal(sandbox_violation_parse("kill"), SANDBOX_KILL);
	assert_int_equal(sandbox_violation_parse("errno"), SANDBOX_ERRNO);
	assert_int_equal(sandbox_violation_parse("log"), SANDBOX_LOG);
	assert_int_equal(sandbox_violation_parse("trap"), SANDBOX_TRAP);
	assert_int_equal(sandbox_violation_parse("Kill"), -EINVAL);
	assert_int_equal(sandbox_violation_parse(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_user),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_keep_caps),
	    cmocka_unit_test(test_forbidden_kills),
	    cmocka_unit_test(test_other_abi_kills),
	    cmocka_unit_test(test_fail_list),
	    cmocka_unit_test(test_chroot),
	    cmocka_unit_test(test_pdeathsig),
	    cmocka_unit_test(test_violation_parse),
	};

	log_init("test-sandbox", LOG_TO_STDERR, LOG_LVL_ERR);
	(void)find_user();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
