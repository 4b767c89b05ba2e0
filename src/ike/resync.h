/*
 * resync.h - iked's reaction to KEV_RESYNC (kernel.h): the kernel
 * backend lost state or events, e.g. r2espd restarted empty.
 */
#ifndef IKED_RESYNC_H
#define IKED_RESYNC_H

struct iked;

/*
 * Check every ESTABLISHED IKE SA's INSTALLED CHILD SAs against the
 * backend and bring back those whose inbound or outbound SA is gone.
 * reason is for the log (borrowed).  Safe to call from the kernel event
 * callback.
 */
void iked_resync(struct iked *d, const char *reason);

#endif
