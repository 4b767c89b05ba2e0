/*
 * kevent_use.h - for the kernel-backend fuzz harnesses (netlink, pfkey):
 * format every field a parsed struct kevent carries, so that bad values
 * surviving a parser show up (ASan/UBSan, or a trap on an overlong
 * string or an event type no parser may produce).  Header-only: each
 * harness is its own program.
 */
#ifndef RACOON_FUZZ_KEVENT_USE_H
#define RACOON_FUZZ_KEVENT_USE_H

#include <string.h>

#include "kernel/kernel.h"

static void use_sel(const struct ksel *s)
{
	char buf[200];

	ksel_str(s, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf))
		__builtin_trap();
}

static void use_event(const struct kevent *ev)
{
	char a[64];

	switch (ev->type) {
	case KEV_ACQUIRE:
		use_sel(&ev->u.acquire.sel);
		kaddr_str(&ev->u.acquire.dst, a, sizeof(a));
		break;
	case KEV_EXPIRE:
		kaddr_str(&ev->u.expire.dst, a, sizeof(a));
		break;
	case KEV_POL_EXPIRE:
		use_sel(&ev->u.pol_expire.sel);
		break;
	case KEV_MIGRATE:
		use_sel(&ev->u.migrate.sel);
		for (unsigned i = 0; i < ev->u.migrate.n && i < KMIGRATE_MAX;
		     i++)
			kaddr_str(&ev->u.migrate.m[i].new_dst, a, sizeof(a));
		break;
	case KEV_MAPPING:
		kaddr_str(&ev->u.mapping.new_addr, a, sizeof(a));
		break;
	case KEV_RESYNC:
		if (strnlen(ev->u.resync.reason, KEV_RESYNC_REASON_MAX) >=
		    KEV_RESYNC_REASON_MAX)
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
}

#endif
