/*
 * ctlsock.c - the listening UNIX control socket shared by iked, spmd and
 * r2espd (single instance, mode before bind, peer credentials); see
 * ctlsock.h for the rules.
 */
#include "lib/ctlsock.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/pidfile.h"

#define MOD "ctlsock"

void (*ctlsock_after_bind_hook)(const char *path);

void ctlsock_init(struct ctlsock *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->lockfd = -1;
}

/* "<dir>/.<base>.lock" next to the socket. */
static int lock_path(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash)
		n = snprintf(out, outlen, "%.*s/.%s.lock", (int)(slash - path),
			     path, slash + 1);
	else
		n = snprintf(out, outlen, ".%s.lock", path);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int take_lock(struct ctlsock *s, char *why, size_t whylen)
{
	char lp[sizeof(s->path) + 16];
	int fd;

	if (lock_path(s->path, lp, sizeof(lp)) < 0) {
		why_set(why, whylen, "%s: path too long", s->path);
		return -ENAMETOOLONG;
	}
	fd = lockfile_take(lp, 0600, NULL);
	if (fd < 0) {
		int e = -fd;

		if (e == EWOULDBLOCK) {
			why_set(why, whylen,
				"another %s is serving %s (it holds %s); not "
				"starting",
				s->daemon, s->path, lp);
			return -EADDRINUSE;
		}
		why_set(why, whylen, "lock file %s: %s", lp, strerror(e));
		return -e;
	}
	s->lockfd = fd;
	return 0;
}

/* Refuse a live socket, remove a stale one (see ctlsock.h). */
static int clear_stale(struct ctlsock *s, int type,
		       const struct sockaddr_un *sun, char *why, size_t whylen)
{
	struct stat st;
	int fd, rc, e;

	if (lstat(s->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		why_set(why, whylen, "%s: %s", s->path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		why_set(why, whylen,
			"%s exists and is not a socket; not "
			"touching it",
			s->path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = errno;
		why_set(why, whylen, "socket: %s", strerror(e));
		return -e;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	if (rc < 0 && e == ENOENT)
		return 0; /* gone meanwhile */
	if (rc == 0 || e != ECONNREFUSED) {
		/* answered, busy (EAGAIN: backlog full), another socket
		 * type (EPROTOTYPE) or anything else: someone is there */
		why_set(why, whylen,
			"another %s is serving %s (%s); not "
			"starting",
			s->daemon, s->path,
			rc == 0 ? "it answered" : strerror(e));
		return -EADDRINUSE;
	}
	if (unlink(s->path) < 0 && errno != ENOENT) {
		e = errno;
		why_set(why, whylen, "stale %s: %s", s->path, strerror(e));
		return -e;
	}
	log_info(MOD, "removed the stale socket %s", s->path);
	return 0;
}

int ctlsock_open(struct ctlsock *s, const struct ctlsock_opts *o, char *why,
		 size_t whylen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t mode = o->mode ? o->mode : CTLSOCK_DEFAULT_MODE, old;
	struct stat st;
	int rc, e;

	ctlsock_init(s);
	why_set(why, whylen, "%s", "");
	snprintf(s->daemon, sizeof(s->daemon), "%s",
		 o->daemon ? o->daemon : "daemon");
	snprintf(s->refuse, sizeof(s->refuse), "%s",
		 o->refuse ? o->refuse : "");
	s->owner = o->any_owner ? o->owner : geteuid();
	if (!o->path || !*o->path || strlen(o->path) >= sizeof(sun.sun_path)) {
		why_set(why, whylen, "socket path empty or longer than %zu",
			sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(s->path, o->path, strlen(o->path) + 1);
	memcpy(sun.sun_path, o->path, strlen(o->path) + 1);

	if ((rc = take_lock(s, why, whylen)) < 0)
		return rc;
	if ((rc = clear_stale(s, o->type, &sun, why, whylen)) < 0)
		goto unlock;
	s->fd = socket(AF_UNIX, o->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		rc = -errno;
		why_set(why, whylen, "socket: %s", strerror(-rc));
		goto unlock;
	}
	/* Mode before bind: Linux creates the file with the sockfs inode's
	 * mode & ~umask, which fchmod sets; the umask covers the rest. */
	if (fchmod(s->fd, mode) < 0) {
		rc = -errno;
		why_set(why, whylen, "fchmod: %s", strerror(-rc));
		goto close_fd;
	}
	old = umask((mode_t)(~mode & 0777));
	rc = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old);
	if (rc < 0) {
		rc = -e;
		why_set(why, whylen, "bind %s: %s", s->path, strerror(e));
		goto close_fd;
	}
	if (lstat(s->path, &st) < 0 || (st.st_mode & 07777) != mode) {
		rc = -EPERM;
		why_set(why, whylen,
			"%s: created with mode %04o instead of "
			"%04o; refusing",
			s->path, (unsigned)(st.st_mode & 07777),
			(unsigned)mode);
		unlink(s->path);
		goto close_fd;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (ctlsock_after_bind_hook)
		ctlsock_after_bind_hook(s->path);
	if (listen(s->fd, o->backlog > 0 ? o->backlog : 16) < 0) {
		rc = -errno;
		why_set(why, whylen, "listen %s: %s", s->path, strerror(-rc));
		unlink(s->path);
		goto close_fd;
	}
	return 0;

close_fd:
	close(s->fd);
	s->fd = -1;
unlock:
	close(s->lockfd);
	s->lockfd = -1;
	return rc;
}

bool ctlsock_uid_ok(const struct ctlsock *s, uid_t uid)
{
	return uid == 0 || uid == s->owner;
}

int ctlsock_accept(struct ctlsock *s, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int fd;

	fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    cl != sizeof(cred)) {
		log_rl_warn(MOD,
			    "%s: no peer credentials (%s); client "
			    "refused",
			    s->path, strerror(errno));
		s->refused++;
		close(fd);
		return -EACCES;
	}
	if (!ctlsock_uid_ok(s, cred.uid)) {
		log_rl_warn(MOD,
			    "%s: refused a client with uid %u pid %d "
			    "(only root or uid %u)",
			    s->path, (unsigned)cred.uid, (int)cred.pid,
			    (unsigned)s->owner);
		if (s->refuse[0])
			(void)!send(fd, s->refuse, strlen(s->refuse),
				    MSG_NOSIGNAL | MSG_DONTWAIT);
		s->refused++;
		close(fd);
		return -EACCES;
	}
	if (uid)
		*uid = cred.uid;
	if (pid)
		*pid = cred.pid;
	return fd;
}

void ctlsock_close(struct ctlsock *s)
{
	struct stat st;

	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		/* never remove the socket of an instance that replaced
		 * ours (it would be cut off from its clients) */
		if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
		    st.st_ino == s->ino)
			unlink(s->path);
	}
	if (s->lockfd >= 0) {
		close(s->lockfd);
		s->lockfd = -1;
	}
}
