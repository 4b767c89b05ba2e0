/*
 * ctlsock.h - the one listening UNIX control socket of every racoon2
 * daemon: iked's control socket (ikedctl), spmd's spmif socket and
 * r2espd's control socket all open, accept and close through here.
 *
 * Opening (ctlsock_open), in this order:
 *  1. lock "<dir>/.<name>.lock" (flock, held for the daemon's life, never
 *     unlinked): two instances starting at once cannot both get past
 *     this point, so the probe below cannot race;
 *  2. probe an existing socket file by connect(): if something answers
 *     (or the socket is busy), refuse with "another DAEMON is serving
 *     PATH" and leave that file alone; only a socket nobody listens on
 *     (ECONNREFUSED) is unlinked as stale; a path that is not a socket
 *     is never unlinked;
 *  3. the socket gets its final mode *before* bind(): on Linux bind()
 *     creates the file with the mode of the socket's own (sockfs) inode
 *     minus the umask, and fchmod() on the unbound descriptor sets that
 *     inode's mode, so fchmod(fd, mode) before bind() is enough; the
 *     umask is also narrowed around bind() (portable: BSDs ignore fchmod
 *     on sockets), and the mode of the new file is verified after bind()
 *     (fail closed).  There is no moment at which the file exists with a
 *     wider mode.  Default mode 0600 (root only).
 *
 * Accepting (ctlsock_accept): every client's SO_PEERCRED uid must be 0
 * or the configured owner (default: the daemon's effective uid);
 * anything else, or a failing getsockopt, is refused and logged (rate
 * limited): fail closed even when the file mode was widened by hand.
 *
 * Limits shared by the three servers (each documents its own numbers in
 * its man page): at most CTLSOCK_MAX_CLIENTS connections (spmif more:
 * its KMPs and monitors stay connected), at most CTLSOCK_OUT_MAX octets
 * of unsent output buffered per connection (a client that does not read
 * its answer is disconnected with a logged reason), requests bounded by
 * each protocol's line or message size.
 *
 * Ownership: struct ctlsock is embedded in the daemon's state; it owns
 * the listening and lock descriptors.  ctlsock_close() unlinks the
 * socket file only if it is still the one this process created.
 */
#ifndef RACOON_CTLSOCK_H
#define RACOON_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTLSOCK_MAX_CLIENTS  16
#define CTLSOCK_OUT_MAX	     (256u << 10) /* unsent octets per connection */
#define CTLSOCK_DEFAULT_MODE 0600

struct ctlsock_opts {
	const char *path;
	const char *daemon; /* "iked", "spmd", "r2espd": for messages */
	int type;	    /* SOCK_STREAM or SOCK_SEQPACKET */
	mode_t mode;	    /* 0: CTLSOCK_DEFAULT_MODE */
	bool any_owner;	    /* owner below is set (else: geteuid()) */
	uid_t owner;	    /* uid allowed besides 0 */
	int backlog;	    /* 0: 16 */
	const char *refuse; /* sent to a refused client before close */
};

struct ctlsock {
	int fd;	    /* listening, non-blocking; -1 when closed */
	int lockfd; /* "<dir>/.<name>.lock", flock held */
	char path[108];
	char daemon[16];
	char refuse[64];
	uid_t owner;
	dev_t dev;
	ino_t ino;
	uint64_t refused; /* clients refused for their credentials */
};

/* Test hook: called right after bind() (before listen), with the path. */
extern void (*ctlsock_after_bind_hook)(const char *path);

/*
 * Open the listening socket (see above).  Returns 0, or -EADDRINUSE when
 * another instance holds the lock or answers on the path, -EEXIST when
 * the path is something else than a socket, -ENAMETOOLONG, -errno.  On
 * error why[] says what happened in one line for the daemon's fatal().
 */
int ctlsock_open(struct ctlsock *s, const struct ctlsock_opts *o, char *why,
		 size_t whylen);

/*
 * Accept one client.  Returns its descriptor (non-blocking, close on
 * exec) with *uid / *pid from SO_PEERCRED (either may be NULL);
 * -EACCES when the client was refused (already closed and logged: call
 * again); -EAGAIN when nobody waits; another -errno on error.
 */
int ctlsock_accept(struct ctlsock *s, uid_t *uid, pid_t *pid);

/* Is a peer with this uid allowed? (0, or the owner) */
bool ctlsock_uid_ok(const struct ctlsock *s, uid_t uid);

/* Close the listening socket and the lock; unlink the socket file if it
 * is still ours.  Safe after ctlsock_init(), a failed open or twice. */
void ctlsock_close(struct ctlsock *s);

/* Mark s closed without touching any file (before ctlsock_open). */
void ctlsock_init(struct ctlsock *s);

#endif
