/*
 * ikedctl.c - command line client of iked's control socket.
 *
 *   ikedctl [-s SOCKET] show sa [--json]
 *   ikedctl show stats [--json]      (resource limits and refusals)
 *   ikedctl initiate REMOTE [POLICY]
 *   ikedctl delete ike ID | child ID | remote NAME | all
 *   ikedctl rekey ike ID | child ID | remote NAME | all
 *   ikedctl reload
 *   ikedctl log LEVEL [MODULE]
 *   ikedctl ping
 *
 * Sends the words as one line and copies the reply body to stdout; the
 * reply's status line ("0 ok" / "1 reason") gives the exit status, so
 * scripts can drive iked.  The socket path defaults to
 * /run/racoon2/iked.sock or $IKED_CTL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/paths.h"

#define DEFAULT_CTL R2_IKED_SOCKET

static void usage(void)
{
	fprintf(stderr, "usage: ikedctl [-s socket] command [args]\n"
			"  show sa [--json]\n"
			"  show stats [--json]\n"
			"  initiate REMOTE [POLICY]\n"
			"  delete ike ID | child ID | remote NAME | all\n"
			"  rekey ike ID | child ID | remote NAME | all\n"
			"  reload\n"
			"  log err|warn|notice|info|debug [MODULE]\n"
			"  ping\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = getenv("IKED_CTL");
	struct sockaddr_un sun;
	char req[1024], buf[4096];
	size_t off = 0;
	int fd, opt, i, status = -1;
	size_t hl = 0;
	char head[256];
	ssize_t n;

	if (!path)
		path = DEFAULT_CTL;
	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	for (i = optind; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (strpbrk(argv[i], " \t\r\n") || off + l + 2 > sizeof(req)) {
			fprintf(stderr, "ikedctl: bad argument '%s'\n",
				argv[i]);
			return 2;
		}
		if (off)
			req[off++] = ' ';
		memcpy(req + off, argv[i], l);
		off += l;
	}
	req[off++] = '\n';

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ikedctl: socket path too long\n");
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ikedctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, req, off) != (ssize_t)off) {
		fprintf(stderr, "ikedctl: write: %s\n", strerror(errno));
		return 1;
	}
	/* Status line first, then the body to stdout. */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ssize_t k = 0;
		if (status < 0) {
			for (; k < n && hl + 1 < sizeof(head); k++) {
				head[hl++] = buf[k];
				if (buf[k] == '\n') {
					k++;
					break;
				}
			}
			if (hl && head[hl - 1] == '\n') {
				head[hl - 1] = 0;
				status = head[0] == '0' ? 0 : 1;
				if (status)
					fprintf(stderr, "ikedctl: %s\n",
						hl > 2 ? head + 2 : head);
			}
		}
		if (k < n)
			fwrite(buf + k, 1, (size_t)(n - k), stdout);
	}
	close(fd);
	if (status < 0) {
		fprintf(stderr, "ikedctl: no reply from iked\n");
		return 1;
	}
	return status;
}
