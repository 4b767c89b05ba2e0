/*
 * test_ctlsock.c - the control-socket server helper (lib/ctlsock.h) and
 * the pid-file helper (lib/pidfile.h): a stale socket is replaced, a
 * live one (ours or anyone's) refused and left working, a non-socket is
 * never unlinked, the mode is final at the instant bind() returns (no
 * window, whatever the umask), a client with another uid is refused
 * through SO_PEERCRED even when the file mode lets it connect, close()
 * never removes a socket that replaced ours, a second pid-file lock is
 * refused with the holder's pid.  The credential test forks a child
 * that switches to uid 65534 (needs root; skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/ctlsock.h"
#include "lib/log.h"
#include "lib/pidfile.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/r2ctlsock.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	ctlsock_after_bind_hook = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const struct ctlsock_opts *opts(int type, mode_t mode)
{
	static struct ctlsock_opts o;

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.daemon = "testd";
	o.type = type;
	o.mode = mode;
	o.refuse = "NO\n";
	return &o;
}

/* A plain socket bound at path; listening or not. */
static int plain_bind(int type, bool listening)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int client(int type)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void test_stale_replaced(void **state)
{
	struct ctlsock s;
	char why[256];
	int fd;

	(void)state;
	close(plain_bind(SOCK_STREAM, false)); /* file left, nobody home */
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0), why, sizeof(why)), 0);
	fd = client(SOCK_STREAM);
	assert_true(fd >= 0);
	close(fd);
	ctlsock_close(&s);
	assert_int_equal(access(path, F_OK), -1); /* ours: removed */
}

static void test_live_refused(void **state)
{
	struct ctlsock s;
	char why[256];
	int lfd, fd;

	(void)state;
	/* someone else (no lock: an old daemon, another program) */
	lfd = plain_bind(SOCK_STREAM, true);
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0), why, sizeof(why)),
	    -EADDRINUSE);
	assert_non_null(strstr(why, "another testd is serving"));
	fd = client(SOCK_STREAM); /* the first one still answers */
	assert_true(fd >= 0);
	close(fd);
	close(lfd);
	/* a seqpacket server probed with its own type */
	unlink(path);
	lfd = plain_bind(SOCK_SEQPACKET, true);
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_SEQPACKET, 0), why, sizeof(why)),
	    -EADDRINUSE);
	fd = client(SOCK_SEQPACKET);
	assert_true(fd >= 0);
	close(fd);
	close(lfd);
}

static void test_second_instance(void **state)
{
	struct ctlsock a, b;
	char why[256];
	int fd;

	(void)state;
	assert_int_equal(
	    ctlsock_open(&a, opts(SOCK_SEQPACKET, 0), why, sizeof(why)), 0);
	assert_int_equal(
	    ctlsock_open(&b, opts(SOCK_SEQPACKET, 0), why, sizeof(why)),
	    -EADDRINUSE);
	assert_non_null(strstr(why, "another testd is serving"));
	ctlsock_close(&b); /* harmless on a failed open */
	fd = client(SOCK_SEQPACKET);
	assert_true(fd >= 0);
	close(fd);
	ctlsock_close(&a);
	/* the lock went with a: a new instance may start */
	assert_int_equal(
	    ctlsock_open(&b, opts(SOCK_SEQPACKET, 0), why, sizeof(why)), 0);
	ctlsock_close(&b);
}

static void test_not_a_socket(void **state)
{
	struct ctlsock s;
	char why[256];
	int fd;

	(void)state;
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0), why, sizeof(why)), -EEXIST);
	assert_int_equal(access(path, F_OK), 0);
}

static mode_t seen_mode;
static void at_bind(const char *p)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	seen_mode = st.st_mode & 07777;
}

static void test_mode_at_bind(void **state)
{
	struct ctlsock s;
	struct stat st;
	char why[256];
	mode_t old;

	(void)state;
	ctlsock_after_bind_hook = at_bind;
	old = umask(0); /* the worst umask a daemon could inherit */
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0), why, sizeof(why)), 0);
	assert_int_equal(seen_mode, 0600);
	assert_int_equal(umask(0), 0); /* restored */
	ctlsock_close(&s);
	/* a configured mode is applied as exactly, also before bind */
	umask(0022);
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_SEQPACKET, 0660), why, sizeof(why)), 0);
	assert_int_equal(seen_mode, 0660);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	ctlsock_close(&s);
	umask(old);
}

/* Accept with a poll, as the daemons' event loops do. */
static int accept_wait(struct ctlsock *s, uid_t *uid)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 5000), 1);
	return ctlsock_accept(s, uid, NULL);
}

static void test_peer_credentials(void **state)
{
	struct ctlsock s;
	char why[256], buf[16];
	uid_t uid = 12345;
	pid_t pid;
	int fd, st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 0711), 0); /* the child may enter */
	/* the file mode lets anyone connect: SO_PEERCRED must still
	 * refuse everyone but root and the owner */
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0666), why, sizeof(why)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ssize_t n;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = client(SOCK_STREAM);
		if (fd < 0)
			_exit(3);
		n = read(fd, buf, sizeof(buf));
		/* "NO\n" then EOF: refused by the server */
		_exit(n == 3 && memcmp(buf, "NO\n", 3) == 0 &&
			      read(fd, buf, 1) == 0
			  ? 0
			  : 4);
	}
	assert_int_equal(accept_wait(&s, &uid), -EACCES);
	assert_int_equal(s.refused, 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* root is accepted, with its uid */
	fd = client(SOCK_STREAM);
	assert_true(fd >= 0);
	st = accept_wait(&s, &uid);
	assert_true(st >= 0);
	assert_int_equal(uid, 0);
	close(st);
	close(fd);
	/* a configured owner is accepted too */
	ctlsock_close(&s);
	{
		struct ctlsock_opts o = *opts(SOCK_STREAM, 0666);

		o.any_owner = true;
		o.owner = 65534;
		assert_int_equal(ctlsock_open(&s, &o, why, sizeof(why)), 0);
	}
	assert_true(ctlsock_uid_ok(&s, 65534));
	assert_false(ctlsock_uid_ok(&s, 65533));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = client(SOCK_STREAM);
		_exit(fd >= 0 && read(fd, buf, 1) == 0 ? 0 : 4);
	}
	st = accept_wait(&s, &uid);
	assert_true(st >= 0);
	assert_int_equal(uid, 65534);
	close(st);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	ctlsock_close(&s);
}

static void test_close_keeps_other(void **state)
{
	struct ctlsock s;
	char why[256];
	int lfd;

	(void)state;
	assert_int_equal(
	    ctlsock_open(&s, opts(SOCK_STREAM, 0), why, sizeof(why)), 0);
	/* someone replaced the file (by hand): not ours to remove */
	assert_int_equal(unlink(path), 0);
	lfd = plain_bind(SOCK_STREAM, true);
	ctlsock_close(&s);
	assert_int_equal(access(path, F_OK), 0);
	close(lfd);
}

static void test_pidfile(void **state)
{
	struct pidfile a, b;
	char pp[160], why[256], buf[32] = "";
	int fd;

	(void)state;
	snprintf(pp, sizeof(pp), "%s/d.pid", dir);
	assert_int_equal(pidfile_lock(&a, pp, "testd", why, sizeof(why)), 0);
	assert_int_equal(pidfile_write(&a), 0);
	/* flock conflicts between two open file descriptions, also in one
	 * process: this is what a second daemon sees */
	assert_int_equal(pidfile_lock(&b, pp, "testd", why, sizeof(why)),
			 -EADDRINUSE);
	snprintf(buf, sizeof(buf), "(pid %d)", (int)getpid());
	assert_non_null(strstr(why, buf));
	assert_non_null(strstr(why, "another testd"));
	pidfile_remove(&b); /* nothing: b holds nothing */
	fd = open(pp, O_RDONLY);
	assert_true(fd >= 0); /* still there */
	close(fd);
	pidfile_remove(&a);
	assert_int_equal(access(pp, F_OK), -1);
	assert_int_equal(pidfile_lock(&b, pp, "testd", why, sizeof(why)), 0);
	pidfile_remove(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stale_replaced, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_live_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_instance, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mode_at_bind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_credentials, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_close_keeps_other, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pidfile, setup, teardown),
	};

	log_init("test", LOG_TO_STDERR, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
