/*
 * priv_parent.h - entry points of iked's two processes (priv.c: the
 * privileged parent; priv_sandbox.c: the engine's sandbox).
 */
#ifndef IKED_PRIV_PARENT_H
#define IKED_PRIV_PARENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "ike/cfg.h"

struct priv_parent_opts {
	const char *conf_path;
	const char *backend;
	const char *ctl_path; /* unlinked at exit once the engine was up */
	pid_t child;
	int kfd, kevfd, chfd; /* parent ends of the three channels */
};

/* Runs the parent until the engine exits; returns the exit code.  Takes
 * cfg (the parent's own copy of the configuration). */
int priv_parent_run(const struct priv_parent_opts *o, struct ike_cfg *cfg);

/* The engine's sandbox (user, chroot, no capabilities, no_new_privs,
 * seccomp allowlist, parent-death signal); 0 or negative errno. */
struct priv_sandbox_opts {
	const char *user; /* NULL = _racoon2 */
	const char *chroot_dir;
	const char *violation; /* "kill" (NULL), "errno", "log", "trap" */
	pid_t parent;
};
int priv_engine_sandbox(const struct priv_sandbox_opts *o);

#endif
