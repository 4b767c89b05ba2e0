/*
 * esp_msg.h - the control protocol between the "userspace" kernel backend
 * (in spmd, iked, tools) and the data-plane daemon r2espd.
 *
 * Transport: a SOCK_SEQPACKET UNIX socket (one datagram = one message),
 * path from $RACOON2_ESPD_SOCKET or ESPM_DEFAULT_SOCKET.  Every message
 * starts with a 12-byte header (type u16, flags u16, seq u32, status i32)
 * followed by a body of big-endian fields written with struct wr and read
 * back only through struct rd.  Requests get exactly one ESPM_REPLY with
 * the same seq (dumps: any number of ESPM_ITEM, then the ESPM_REPLY).
 * A client that sends ESPM_HELLO with ESPM_F_EVENTS receives ESPM_EVENT
 * messages (ACQUIRE, EXPIRE, POL_EXPIRE, MIGRATE, MAPPING) on that connection
 * and should use another connection for requests; the backend does so.  The
 * HELLO reply (the first message on the connection, before any event)
 * carries a random instance id of the r2espd run: a client that
 * reconnects compares it to tell a restarted, empty r2espd from a
 * dropped connection (us_backend.c turns either into KEV_RESYNC).
 * POL_ADD keeps a requested index (index & 7 == dir, not in use) as
 * XFRM does, so that policies come back under their old indexes.
 *
 * Decoders validate every enum and length and never trust the peer;
 * they return 0 or -EBADMSG.  Structures are filled by value; nothing
 * is allocated.  Key material passes through the wr buffer, which
 * wr_free() wipes.
 */
#ifndef RACOON_ESP_MSG_H
#define RACOON_ESP_MSG_H

#include <stdint.h>

#include "kernel/kernel.h"
#include "lib/paths.h"
#include "lib/rd.h"
#include "lib/wr.h"

#define ESPM_DEFAULT_SOCKET R2_ESPD_SOCKET
#define ESPM_SOCKET_ENV	    "RACOON2_ESPD_SOCKET"
#define ESPM_MAX	    8192 /* largest message */
#define ESPM_VERSION	    1

enum espm_type {
	ESPM_HELLO = 1,	 /* u32 version, u32 flags; reply: u32 version,
			  * u64 instance (random per r2espd run) */
	ESPM_GETSPI,	 /* u8 proto, kaddr src, kaddr dst, u32 reqid */
	ESPM_SA_ADD,	 /* ksa */
	ESPM_SA_DEL,	 /* u8 proto, kaddr dst, u32 spi */
	ESPM_SA_QUERY,	 /* same as SA_DEL; reply: kcounters */
	ESPM_SA_GET,	 /* same; reply: ksa (keys) + kcounters */
	ESPM_POL_ADD,	 /* kpolicy; reply: u32 index */
	ESPM_POL_UPDATE, /* kpolicy */
	ESPM_POL_DEL,	 /* kpolicy (selector + dir, or index) */
	ESPM_POL_DUMP,	 /* items: kpolicy */
	ESPM_FLUSH_OWN,
	ESPM_SA_DUMP, /* items: ksa without keys + kcounters */
	ESPM_STATS,   /* reply: u32 n, n x (name string, u64) */
	ESPM_MIGRATE, /* kmigrate_req (kernel.h); moves policy and SAs */
	/* u8 n; n descriptors (SCM_RIGHTS): the KMP's ESP-in-UDP sockets
	 * beside its NAT-T sockets (k_udp_esp_sock, kernel.h); they replace
	 * those given before and are r2espd's until the giving connection
	 * closes */
	ESPM_UDP_SOCKS,
	ESPM_TYPE_MAX_REQ = ESPM_UDP_SOCKS,

	/* iked's privileged parent only (src/ike/kproxy.c; r2espd refuses
	 * it as any unknown type): u8 n (1..ESPM_BATCH_MAX), n x (u16
	 * length, request message); served in order, each as alone; the
	 * reply's body: n x (u16 length, reply message).  The engine's
	 * k_batch (kernel.h) in one datagram each way: one wakeup of
	 * each process, whatever the kernel's preemption. */
	ESPM_BATCH = 0x40,

	ESPM_REPLY = 0x80, /* status = 0 or -errno, body per request */
	ESPM_ITEM,
	ESPM_EVENT, /* kevent */
};

/* SO_MARK of r2espd's outer packets ("r2es"): its policy rules send
 * them past its own routes (espd_priv.c); the KMP sets it on the
 * ESP-in-UDP sockets it gives r2espd (ESPM_UDP_SOCKS). */
#define ESPM_MARK 0x72326573u
/* most descriptors in one ESPM_UDP_SOCKS */
#define ESPM_UDP_SOCKS_MAX 8

#define ESPM_BATCH_MAX 16 /* requests in one ESPM_BATCH */

#define ESPM_F_EVENTS 0x1 /* HELLO: subscribe to events */
/* SA_ADD: the keys are static (operator-given, r2espctl), not fresh from
 * a KMP; r2espd refuses a static AEAD key without ESPM_F_FORCE_AEAD
 * (nonce reuse after a restart, see K_OPEN_STATIC_KEYS in kernel.h). */
#define ESPM_F_STATIC_KEY 0x2
#define ESPM_F_FORCE_AEAD 0x4

struct espm_hdr {
	uint16_t type, flags;
	uint32_t seq;
	int32_t status;
};

void espm_put_hdr(struct wr *w, const struct espm_hdr *h);
int espm_get_hdr(struct rd *r, struct espm_hdr *h);

void espm_put_kaddr(struct wr *w, const struct kaddr *a);
int espm_get_kaddr(struct rd *r, struct kaddr *a);
void espm_put_ksel(struct wr *w, const struct ksel *s);
int espm_get_ksel(struct rd *r, struct ksel *s);
void espm_put_kpolicy(struct wr *w, const struct kpolicy *p);
int espm_get_kpolicy(struct rd *r, struct kpolicy *p);
/* with_keys false writes zero-length keys (dumps). */
void espm_put_ksa(struct wr *w, const struct ksa *sa, bool with_keys);
int espm_get_ksa(struct rd *r, struct ksa *sa);
void espm_put_kcounters(struct wr *w, const struct kcounters *c);
int espm_get_kcounters(struct rd *r, struct kcounters *c);
void espm_put_kmigrate(struct wr *w, const struct kmigrate_req *q);
int espm_get_kmigrate(struct rd *r, struct kmigrate_req *q);
void espm_put_kevent(struct wr *w, const struct kevent *ev);
int espm_get_kevent(struct rd *r, struct kevent *ev);
/* Length-prefixed (u16) string into buf (NUL-terminated). */
void espm_put_str(struct wr *w, const char *s);
int espm_get_str(struct rd *r, char *buf, size_t size);

#endif
