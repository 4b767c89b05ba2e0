/*
 * pidfile.c - locked pid files (see pidfile.h).
 */
#include "lib/pidfile.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void pidfile_init(struct pidfile *p)
{
	p->fd = -1;
	p->path[0] = '\0';
}

int lockfile_take(const char *path, mode_t mode, int *busy_fd)
{
	int fd, e;

	if (busy_fd)
		*busy_fd = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	e = errno;
	if (e == EWOULDBLOCK && busy_fd)
		*busy_fd = fd;
	else
		close(fd);
	return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
}

int pidfile_lock(struct pidfile *p, const char *path, const char *daemon,
		 char *why, size_t whylen)
{
	char buf[32];
	ssize_t n;
	int fd, e, busy;

	pidfile_init(p);
	if (strlen(path) >= sizeof(p->path)) {
		why_set(why, whylen, "pid file %s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = lockfile_take(path, 0644, &busy);
	if (fd < 0) {
		e = -fd;
		if (e != EWOULDBLOCK) {
			why_set(why, whylen, "pid file %s: %s", path,
				strerror(e));
			return -e;
		}
		fd = busy;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		why_set(why, whylen,
			"another %s (pid %s) holds the pid file "
			"%s; not starting",
			daemon, buf[0] ? buf : "?", path);
		return -EADDRINUSE;
	}
	p->fd = fd;
	memcpy(p->path, path, strlen(path) + 1);
	return 0;
}

int pidfile_write(struct pidfile *p)
{
	char buf[32];
	int n;

	if (p->fd < 0)
		return 0;
	if (ftruncate(p->fd, 0) < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (pwrite(p->fd, buf, (size_t)n, 0) != n)
		return -EIO;
	return 0;
}

void pidfile_remove(struct pidfile *p)
{
	if (p->fd < 0)
		return;
	unlink(p->path);
	close(p->fd);
	p->fd = -1;
}
