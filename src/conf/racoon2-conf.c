/*
 * racoon2-conf - check or print racoon2.conf.
 *
 *   racoon2-conf [-f FILE] -t      check; exit 0 if valid, 1 if not
 *   racoon2-conf [-f FILE] dump    print the resolved configuration
 *   -n                             skip the PSK/key file checks
 *
 * Diagnostics go to stderr as file:line:column: error: message.  The
 * loading code is conf_cli_load(), shared with every daemon's -f/-t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: racoon2-conf [-n] [-f FILE] -t\n"
		"       racoon2-conf [-n] [-f FILE] dump\n"
		"default FILE: %s\n",
		CONF_DEFAULT_PATH);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	struct conf *c = NULL;
	bool check = false;
	unsigned flags = 0;
	int ch, rc;

	while ((ch = getopt(argc, argv, "f:nth")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			flags |= CONF_LOAD_NO_FILECHECK;
			break;
		case 't':
			check = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (check == (argc == 1 && strcmp(argv[0], "dump") == 0))
		usage();
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "dump") != 0))
		usage();
	rc = conf_cli_load_ex("racoon2-conf", path, flags, check ? NULL : &c);
	if (rc != 0 || check) {
		if (check && rc == 0)
			fprintf(stderr, "racoon2-conf: %s: configuration OK\n",
				path ? path : CONF_DEFAULT_PATH);
		return rc;
	}
	rc = conf_dump(stdout, c) == 0 && fflush(stdout) == 0 ? 0 : 1;
	conf_free(c);
	return rc;
}
