/*
 * notify.h - service manager readiness notification (systemd Type=notify).
 *
 * r2_notify("READY=1") sends one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace), the
 * protocol sd_notify(3) documents as stable; without $NOTIFY_SOCKET it
 * does nothing.  Written here rather than linking libsystemd: the
 * daemons call it from their root parent only (never from a sandboxed
 * process: its seccomp filter forbids the socket), and it needs nothing
 * installed.  Returns 1 sent, 0 no manager, -errno on failure (callers
 * log and go on).
 */
#ifndef RACOON_NOTIFY_H
#define RACOON_NOTIFY_H

int r2_notify(const char *state);

#endif
