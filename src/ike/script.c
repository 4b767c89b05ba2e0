/*
 * script.c - racoon2 `script { ike_sa_up ...; child_up ...; }` hooks.
 *
 * The configured program runs with no arguments but the event name, in
 * the background (double fork, so no zombies and no waiting), with the
 * SA described in environment variables:
 *   IKED_EVENT        ike_sa_up | ike_sa_down | ike_sa_rekey |
 *                     child_up | child_down | child_rekey
 *   IKED_REMOTE       remote name          IKED_IKE_SA_ID  ikedctl id
 *   LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT
 *   IKE_SPI_I IKE_SPI_R LOCAL_ID REMOTE_ID
 *   for children also: IKED_CHILD_SA_ID POLICY IPSEC_MODE REQID
 *   SPI_IN SPI_OUT (hex) LOCAL_NET REMOTE_NET
 * Ownership: nothing kept; strings are built on the stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

static const char *const ev_names[SCRIPT_MAX] = {
	[SCRIPT_IKE_UP] = "ike_sa_up",
	[SCRIPT_IKE_DOWN] = "ike_sa_down",
	[SCRIPT_IKE_REKEY] = "ike_sa_rekey",
	[SCRIPT_CHILD_UP] = "child_up",
	[SCRIPT_CHILD_DOWN] = "child_down",
	[SCRIPT_CHILD_REKEY] = "child_rekey",
};

static void setenvf(const char *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void setenvf(const char *k, const char *fmt, ...)
{
	char v[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	setenv(k, v, 1);
}

void script_run(struct iked *d, const struct ike_sa *sa,
		const struct child_sa *c, enum cfg_script which)
{
	const struct ike_remote *r;
	char b[300];
	pid_t pid;

	if (!sa || which >= SCRIPT_MAX)
		return;
	r = cfg_remote_by_name(d->cfg, sa->remote);
	if (!r || !r->script[which][0])
		return;
	pid = fork();
	if (pid < 0) {
		log_warn(MOD, "script %s: fork: %s", r->script[which],
			 strerror(errno));
		return;
	}
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return;
	}
	/* Child: fork again so the script is reparented to init. */
	if (fork() != 0)
		_exit(0);
	setenvf("IKED_EVENT", "%s", ev_names[which]);
	setenvf("IKED_REMOTE", "%s", sa->remote);
	setenvf("IKED_IKE_SA_ID", "%u", sa->id);
	setenvf("LOCAL_ADDR", "%s", kaddr_str(&sa->local.addr, b, sizeof(b)));
	setenvf("LOCAL_PORT", "%u", sa->local.port);
	setenvf("REMOTE_ADDR", "%s", kaddr_str(&sa->peer.addr, b, sizeof(b)));
	setenvf("REMOTE_PORT", "%u", sa->peer.port);
	setenvf("IKE_SPI_I", "%016llx", (unsigned long long)sa->spi_i);
	setenvf("IKE_SPI_R", "%016llx", (unsigned long long)sa->spi_r);
	setenvf("LOCAL_ID", "%s", ike_id_str(&sa->id_local, b, sizeof(b)));
	setenvf("REMOTE_ID", "%s", ike_id_str(&sa->id_peer, b, sizeof(b)));
	if (c) {
		setenvf("IKED_CHILD_SA_ID", "%u", c->id);
		setenvf("POLICY", "%s", c->policy);
		setenvf("IPSEC_MODE", "%s",
			c->mode == KMODE_TUNNEL ? "tunnel" : "transport");
		setenvf("REQID", "%u", c->reqid);
		setenvf("SPI_IN", "%08x", c->spi_in);
		setenvf("SPI_OUT", "%08x", c->spi_out);
		if (c->ts_local.af)
			setenvf("LOCAL_NET", "%s/%u",
				kaddr_str(&c->ts_local.src, b, sizeof(b)),
				c->ts_local.src_plen);
		if (c->ts_remote.af)
			setenvf("REMOTE_NET", "%s/%u",
				kaddr_str(&c->ts_remote.dst, b, sizeof(b)),
				c->ts_remote.dst_plen);
	}
	execl(r->script[which], r->script[which], ev_names[which],
	      (char *)NULL);
	_exit(127);
}
