/*
 * pfkey.c - the PF_KEY v2 backend ("pfkey", RFC 2367 with the KAME/Linux
 * NAT-T extensions SADB_X_EXT_NAT_T_TYPE/SPORT/DPORT).
 *
 * Status: open() probes for a PF_KEY socket and reports clearly when the
 * kernel has none (this project's reference kernel is built without
 * CONFIG_NET_KEY).  The SADB message layer is not written yet: on a
 * kernel that does have PF_KEY, open() fails with -EOPNOTSUPP rather
 * than pretend.
 *
 * Memory: nothing is kept; the probe socket is closed before returning.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PF_KEY
#define PF_KEY 15
#endif
#define PF_KEY_V2 2

static int pfkey_open(struct kernel *k, unsigned flags)
{
	int fd, e;

	(void)flags;
	fd = socket(PF_KEY, SOCK_RAW | SOCK_CLOEXEC, PF_KEY_V2);
	if (fd < 0) {
		e = errno;
		kerr_set(k->last_error, sizeof(k->last_error),
			 "PF_KEY not available on this kernel: %s",
			 strerror(e));
		return -e;
	}
	close(fd);
	kerr_set(k->last_error, sizeof(k->last_error),
		 "PF_KEY backend: socket operations not implemented yet; "
		 "use the xfrm backend");
	return -EOPNOTSUPP;
}

static void pfkey_close(struct kernel *k)
{
	k->priv = NULL;
}

const struct kernel_ops kernel_pfkey_ops = {
    .name = "pfkey",
    .open = pfkey_open,
    .close = pfkey_close,
};
