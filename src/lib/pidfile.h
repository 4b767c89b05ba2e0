/*
 * pidfile.h - the pid file of every racoon2 daemon (spmd, iked, r2espd).
 *
 * pidfile_lock() opens (creating, mode 0644) and flock()s the file
 * before the daemon touches any socket: a second instance naming the
 * same file stops there with "another DAEMON (pid N) holds FILE" and
 * changes nothing.  flock, not fcntl: the lock belongs to the open file
 * description, so it survives daemon()'s fork in the child (fcntl locks
 * are per process and would be lost) and lasts as long as the daemon.
 * pidfile_write() writes the pid once the final process exists (after
 * daemon()), under the lock.  pidfile_remove() unlinks it at exit.
 */
#ifndef RACOON_PIDFILE_H
#define RACOON_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

struct pidfile {
	int fd; /* -1: none */
	char path[256];
};

/*
 * The one way a daemon takes a lock file (pid files, ctlsock.h's
 * .NAME.lock): opens path (created with mode, never through a symlink)
 * and flock()s it exclusively without waiting.  Returns the descriptor,
 * -EWOULDBLOCK when another process holds it (then *busy_fd, if given,
 * is the open descriptor, for reading who; the caller closes it), or
 * another negative errno.
 */
int lockfile_take(const char *path, mode_t mode, int *busy_fd);

void pidfile_init(struct pidfile *p);
/* 0, -EADDRINUSE (another live instance), -ENAMETOOLONG or -errno; why[]
 * gets a one-line message for fatal(). */
int pidfile_lock(struct pidfile *p, const char *path, const char *daemon,
		 char *why, size_t whylen);
int pidfile_write(struct pidfile *p);
/* Unlink and close (only a file we locked); safe when none. */
void pidfile_remove(struct pidfile *p);

#endif
