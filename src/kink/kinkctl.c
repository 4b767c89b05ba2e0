/*
 * kinkctl - ask kinkd over its control socket (SOCK_SEQPACKET: one
 * request, one answer whose first line is 0 = ok, 1 = error).
 *   show sa [--json] | show peers [--json] | show stats [--json]
 *   delete SPI | delete all | initiate POLICY | status [REMOTE] | ping
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/paths.h"

#define DEFAULT_CTL R2_KINKD_SOCKET

static void usage(void)
{
	fprintf(stderr, "usage: kinkctl [-s socket] show sa|peers|stats "
			"[--json] | delete SPI|all | initiate POLICY | "
			"status [REMOTE] | ping\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = getenv("KINKD_CTL");
	static char buf[65536];
	char req[256];
	struct sockaddr_un sun;
	size_t off = 0;
	ssize_t n;
	int fd, opt;

	if (!path)
		path = DEFAULT_CTL;
	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		if (opt != 's')
			usage();
		path = optarg;
	}
	if (optind >= argc)
		usage();
	for (int i = optind; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (off + l + 2 > sizeof(req))
			usage();
		if (off)
			req[off++] = ' ';
		memcpy(req + off, argv[i], l);
		off += l;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		usage();
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "kinkctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (send(fd, req, off, 0) != (ssize_t)off) {
		fprintf(stderr, "kinkctl: send: %s\n", strerror(errno));
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < 2) {
		fprintf(stderr, "kinkctl: no answer\n");
		return 1;
	}
	fwrite(buf + 2, 1, (size_t)n - 2, stdout);
	return buf[0] == '0' ? 0 : 1;
}
