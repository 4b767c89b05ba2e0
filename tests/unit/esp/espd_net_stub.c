/*
 * espd_net_stub.c - the four espd_net.c functions that r2espd's control
 * path (espd.c) calls, for the programs that link espd.c without the
 * packet path: test_espd_spd, test_espd_migrate and the espctl fuzzer.
 * No sockets are ever given (EOPNOTSUPP); a route is only marked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernel/userspace/espd.h"

int espd_given(struct espd *d, int cli, int *fds, unsigned n, char *why,
	       size_t whylen)
{
	(void)d;
	(void)cli;
	(void)fds;
	(void)n;
	(void)why;
	(void)whylen;
	return -EOPNOTSUPP;
}

void espd_given_release(struct espd *d)
{
	(void)d;
}

int espd_route(struct espd *d, struct espd_pol *pol, bool add)
{
	(void)d;
	pol->routed = add;
	return 0;
}

void espd_queue_flush(struct espd *d)
{
	(void)d;
}
