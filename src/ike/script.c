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
 * With privilege separation (priv.h) the engine only describes the event;
 * the privileged parent checks it (script_env_ok) and runs the program
 * its own configuration names for that remote and event.
 * Ownership: nothing kept; strings are built on the stack.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ike/iked.h"
#include "ike/priv.h"
#include "lib/log.h"

#define MOD "ike"

static const char *const ev_names[SCRIPT_MAX] = {
    [SCRIPT_IKE_UP] = "ike_sa_up",	 [SCRIPT_IKE_DOWN] = "ike_sa_down",
    [SCRIPT_IKE_REKEY] = "ike_sa_rekey", [SCRIPT_CHILD_UP] = "child_up",
    [SCRIPT_CHILD_DOWN] = "child_down",	 [SCRIPT_CHILD_REKEY] = "child_rekey",
};

/* The variables the engine may pass (IKED_EVENT and IKED_REMOTE are
 * set by whoever runs the script). */
static const char *const env_names[] = {
    "IKED_IKE_SA_ID", "LOCAL_ADDR",	  "LOCAL_PORT", "REMOTE_ADDR",
    "REMOTE_PORT",    "IKE_SPI_I",	  "IKE_SPI_R",	"LOCAL_ID",
    "REMOTE_ID",      "IKED_CHILD_SA_ID", "POLICY",	"IPSEC_MODE",
    "REQID",	      "SPI_IN",		  "SPI_OUT",	"LOCAL_NET",
    "REMOTE_NET",
};

static void envf(struct priv_env *e, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void envf(struct priv_env *e, const char *k, const char *fmt, ...)
{
	va_list ap;

	if (e->n >= PRIV_SCRIPT_VARS)
		return;
	snprintf(e->name[e->n], sizeof(e->name[e->n]), "%s", k);
	va_start(ap, fmt);
	vsnprintf(e->value[e->n], sizeof(e->value[e->n]), fmt, ap);
	va_end(ap);
	e->n++;
}

bool script_env_ok(const struct priv_env *env)
{
	if (env->n > PRIV_SCRIPT_VARS)
		return false;
	for (size_t i = 0; i < env->n; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(env_names) / sizeof(*env_names);
		     k++)
			if (strcmp(env->name[i], env_names[k]) == 0)
				known = true;
		if (!known)
			return false;
		/* printable ASCII only: a peer's ID ends up here */
		for (const char *v = env->value[i]; *v; v++)
			if (*v < 0x20 || *v > 0x7e)
				return false;
	}
	return true;
}

void script_exec(const char *path, unsigned which, const char *remote,
		 const struct priv_env *env)
{
	pid_t pid;

	if (which >= SCRIPT_MAX || !path[0])
		return;
	pid = fork();
	if (pid < 0) {
		log_warn(MOD, "script %s: fork: %s", path, strerror(errno));
		return;
	}
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return;
	}
	/* Child: fork again so the script is reparented to init. */
	if (fork() != 0)
		_exit(0);
	/* The daemon's signal mask (signalfd) and ignored SIGPIPE would
	 * be inherited across exec: the script gets the defaults. */
	{
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
	}
	setenv("IKED_EVENT", ev_names[which], 1);
	setenv("IKED_REMOTE", remote, 1);
	for (size_t i = 0; i < env->n; i++)
		setenv(env->name[i], env->value[i], 1);
	execl(path, path, ev_names[which], (char *)NULL);
	_exit(127);
}

void script_run(struct iked *d, const struct ike_sa *sa,
		const struct child_sa *c, enum cfg_script which)
{
	const struct ike_remote *r;
	struct priv_env *e;
	char b[300];

	if (!sa || which >= SCRIPT_MAX)
		return;
	r = cfg_remote_by_name(d->cfg, sa->remote);
	if (!r || !r->script[which][0])
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	envf(e, "IKED_IKE_SA_ID", "%u", sa->id);
	envf(e, "LOCAL_ADDR", "%s", kaddr_str(&sa->local.addr, b, sizeof(b)));
	envf(e, "LOCAL_PORT", "%u", sa->local.port);
	envf(e, "REMOTE_ADDR", "%s", kaddr_str(&sa->peer.addr, b, sizeof(b)));
	envf(e, "REMOTE_PORT", "%u", sa->peer.port);
	envf(e, "IKE_SPI_I", "%016llx", (unsigned long long)sa->spi_i);
	envf(e, "IKE_SPI_R", "%016llx", (unsigned long long)sa->spi_r);
	envf(e, "LOCAL_ID", "%s", ike_id_str(&sa->id_local, b, sizeof(b)));
	envf(e, "REMOTE_ID", "%s", ike_id_str(&sa->id_peer, b, sizeof(b)));
	if (c) {
		envf(e, "IKED_CHILD_SA_ID", "%u", c->id);
		envf(e, "POLICY", "%s", c->policy);
		envf(e, "IPSEC_MODE", "%s",
		     c->mode == KMODE_TUNNEL ? "tunnel" : "transport");
		envf(e, "REQID", "%u", c->reqid);
		envf(e, "SPI_IN", "%08x", c->spi_in);
		envf(e, "SPI_OUT", "%08x", c->spi_out);
		if (c->ts_local.af)
			envf(e, "LOCAL_NET", "%s/%u",
			     kaddr_str(&c->ts_local.src, b, sizeof(b)),
			     c->ts_local.src_plen);
		if (c->ts_remote.af)
			envf(e, "REMOTE_NET", "%s/%u",
			     kaddr_str(&c->ts_remote.dst, b, sizeof(b)),
			     c->ts_remote.dst_plen);
	}
	if (priv_fd >= 0)
		priv_script(which, sa->remote, e); /* the parent runs it */
	else
		script_exec(r->script[which], which, sa->remote, e);
	free(e);
}
