/*
 * spmif_client.h - client side of spmif, the UNIX-socket interface
 * between spmd and the key management daemons (iked, kinkd) and
 * spmdctl.  The wire protocol is described in doc/spmif.7.
 *
 * Usage from a key daemon:
 *
 *	struct spmif_callbacks cbs = { .acquire = on_acquire,
 *				       .closed = on_spmd_gone };
 *	struct spmif_client *c = spmif_client_new(&cbs, ctx);
 *	spmif_connect(c, conf_spmd_socket, password_file);  // blocking
 *	spmif_register(c, SPMIF_KMP_IKEV2);                  // blocking
 *	spmif_attach(c, loop);        // from now on events arrive via ev
 *	...
 *	spmif_policy_add(c, &req, on_added, ctx);            // async
 *
 * Every request has an asynchronous form (a reply callback runs from
 * the event loop; replies arrive in request order) and a blocking form
 * (spmif_call).  Events that arrive during a blocking call are handed to
 * the callbacks afterwards from the event loop when the client is
 * attached (so an ACQUIRE never runs inside the caller's stack), at once
 * otherwise.  A blocking call may be made while attached, but not from
 * inside a reply callback of the same client.
 *
 * Memory: the client owns its socket and buffers.  Structures passed to
 * callbacks (struct spmif_acquire, struct spmif_reply) are valid only
 * during the callback.  spmif_client_free() closes the socket; pending
 * async callbacks are then invoked once with code SPMIF_E_CLOSED.
 */
#ifndef RACOON_SPMIF_CLIENT_H
#define RACOON_SPMIF_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

struct ev_loop;
struct spmif_client;

/* Key management protocols a client may register as. */
enum spmif_kmp {
	SPMIF_KMP_IKEV2 = 1,
	SPMIF_KMP_IKEV1 = 2,
	SPMIF_KMP_KINK = 3,
};

/* Reply codes (first digit as in SMTP: 2 = ok, 5 = permanent error). */
#define SPMIF_OK	  250
#define SPMIF_OK_NONE	  251 /* ok, but nothing matched */
#define SPMIF_E_SYNTAX	  500
#define SPMIF_E_NOTCACHED 501 /* FQDN QUERY: no cached name */
#define SPMIF_E_UNKNOWN	  502 /* unknown command */
#define SPMIF_E_AUTH	  530 /* login needed / refused */
#define SPMIF_E_FAILED	  550 /* operation failed */
#define SPMIF_E_NOTFOUND  551 /* no such selector/policy/index */
#define SPMIF_E_EXISTS	  552 /* already exists / already registered */
#define SPMIF_E_CLOSED	  -1  /* local: connection lost before reply */

#define SPMIF_NAME_MAX 64 /* names from racoon2.conf, incl. NUL */

/* An ACQUIRE routed to this KMP by spmd. */
struct spmif_acquire {
	uint64_t seq;	    /* spmd's event number */
	uint32_t pol_index; /* kernel policy index that triggered it */
	enum kdir dir;
	struct ksel sel; /* the selector of the packet's policy */
	/*
	 * The packet that triggered it (RFC 7296 §2.9: the initiator's
	 * first TS): host addresses, and proto/ports when the backend
	 * reported them (port masks 0xffff then).  af == 0: none sent.
	 */
	struct ksel pkt;
	char selector[SPMIF_NAME_MAX]; /* racoon2.conf selector name */
	char policy[SPMIF_NAME_MAX];
	char remote[SPMIF_NAME_MAX];
	struct kaddr sa_src, sa_dst; /* SA endpoints to negotiate */
	uint32_t reqid;
	enum kmode mode;
	uint8_t ipsec_proto; /* IPPROTO_ESP / IPPROTO_AH */
	enum spmif_kmp kmp;
};

/* SA endpoints of a policy moved (MIGRATE: spmdctl migrate, or a
 * mobility daemon through the kernel); one per pair. */
struct spmif_migrate_ev {
	uint32_t pol_index;
	enum kdir dir;
	struct ksel sel;
	char selector[SPMIF_NAME_MAX];
	char policy[SPMIF_NAME_MAX];
	char remote[SPMIF_NAME_MAX];
	uint32_t reqid;
	enum kmode mode;
	uint8_t ipsec_proto;
	struct kaddr old_src, old_dst, new_src, new_dst;
};

/* A dynamic policy expired or was removed by spmd (not by us). */
struct spmif_policy_gone {
	uint32_t id;
	char selector[SPMIF_NAME_MAX];
	char reason[32]; /* "lifetime", "deleted", "reload" */
};

/*
 * A parsed reply.  text is the final line after the code; lines[] are
 * the continuation lines (multi-line replies such as POLICY DUMP and
 * STATUS), without their code prefix.
 */
struct spmif_reply {
	int code;
	const char *text;
	size_t nlines;
	char **lines;
};

/* Look up a "key=value" token in a reply or event line and copy its
 * decoded value into buf; returns buf, or NULL if absent/too long. */
const char *spmif_kv(const char *line, const char *key, char *buf, size_t len);

struct spmif_callbacks {
	void (*acquire)(struct spmif_client *c, const struct spmif_acquire *a,
			void *arg);
	void (*policy_gone)(struct spmif_client *c,
			    const struct spmif_policy_gone *g, void *arg);
	void (*migrate)(struct spmif_client *c,
			const struct spmif_migrate_ev *m, void *arg);
	/* Connection to spmd lost (err = negative errno or 0 on EOF). */
	void (*closed)(struct spmif_client *c, int err, void *arg);
};

typedef void (*spmif_reply_cb)(struct spmif_client *c,
			       const struct spmif_reply *r, void *arg);

struct spmif_client *spmif_client_new(const struct spmif_callbacks *cbs,
				      void *arg);
void spmif_client_free(struct spmif_client *c);

/*
 * Blocking connect to the spmd socket, read the banner and, when spmd
 * asks for it, answer the password challenge with the password read
 * from password_file (racoon2's spmd_password; may be NULL when spmd
 * does not ask).  Returns 0 or negative errno (-EACCES: login refused).
 */
int spmif_connect(struct spmif_client *c, const char *path,
		  const char *password_file);
/*
 * Privilege separation (iked): the parent connects and logs in with
 * spmif_connect(), takes the descriptor back with spmif_release_fd()
 * (before attaching; the client is then closed and may be freed), and
 * passes it to the engine, whose client adopts it with
 * spmif_connect_fd() and goes on with spmif_register().
 */
int spmif_connect_fd(struct spmif_client *c, int fd);
int spmif_release_fd(struct spmif_client *c);

/* Blocking: register as kmp; -EEXIST if another client holds it. */
int spmif_register(struct spmif_client *c, enum spmif_kmp kmp);

/* Switch to non-blocking operation driven by loop. */
int spmif_attach(struct spmif_client *c, struct ev_loop *loop);

/*
 * Send one request line (without newline; it must not contain CR/LF).
 * Async: cb (may be NULL) runs when the reply arrives.
 */
int spmif_send(struct spmif_client *c, const char *line, spmif_reply_cb cb,
	       void *arg);
/*
 * Blocking: send the line and wait up to timeout_ms for the reply,
 * dispatching events meanwhile.  On success (transport-wise) returns 0
 * and *out is a reply the caller must release with spmif_reply_free();
 * check out->code for the result.
 */
int spmif_call(struct spmif_client *c, const char *line, int timeout_ms,
	       struct spmif_reply *out);
void spmif_reply_free(struct spmif_reply *r);

/* A dynamic policy (road warrior) from a template selector. */
struct spmif_policy_req {
	const char *selector;  /* config selector whose policy/ipsec to use */
	uint64_t lifetime_sec; /* 0 = until deleted / disconnect */
	enum kmode mode;
	struct kaddr sp_src, sp_dst;	  /* traffic addresses */
	uint8_t sp_src_plen, sp_dst_plen; /* 0 = full host length */
	struct kaddr sa_src, sa_dst;	  /* tunnel endpoints (tunnel mode) */
	uint8_t proto;			  /* 0 = selector's */
	uint16_t sport, dport;		  /* 0 = selector's */
	int persist; /* 1: keep after this connection closes (spmdctl) */
};

/*
 * Async helpers on top of spmif_send.  The POLICY ADD reply carries
 * "id=N" (spmd's dynamic policy id) and the kernel indexes
 * "out=N in=N [fwd=N]"; spmif_reply_id() extracts id.
 */
int spmif_policy_add(struct spmif_client *c, const struct spmif_policy_req *r,
		     spmif_reply_cb cb, void *arg);
int spmif_policy_delete(struct spmif_client *c, uint32_t id, spmif_reply_cb cb,
			void *arg);
int spmif_reply_id(const struct spmif_reply *r, uint32_t *id);

/* Build the request line of a POLICY ADD (exposed for tools/tests). */
int spmif_policy_add_line(const struct spmif_policy_req *r, char *buf,
			  size_t len);

/* Result of SLID (lookup by kernel policy index). */
struct spmif_slid {
	char selector[SPMIF_NAME_MAX];
	char policy[SPMIF_NAME_MAX];
	char remote[SPMIF_NAME_MAX];
	uint32_t dyn_id; /* 0 unless a dynamic policy */
};
int spmif_slid_parse(const struct spmif_reply *r, struct spmif_slid *out);
/* Blocking lookup: 0, -ENOENT if unknown, other negative errno. */
int spmif_slid(struct spmif_client *c, uint32_t pol_index, int timeout_ms,
	       struct spmif_slid *out);

/*
 * Blocking REQID (doc/spmif.7): the reqid spmd gave the policy made from
 * selector or policy (one of them non-NULL), restricted to traffic
 * selector *sel when sel is not NULL (addresses, prefix lengths and
 * protocol, seen from this side: src = ours).  A key daemon asks it for
 * a CHILD SA the peer started (an initiator has it from the ACQUIRE).
 * 0 and *reqid, -ENOENT if spmd has no such policy, other negative
 * errno.
 */
int spmif_reqid(struct spmif_client *c, const char *selector,
		const char *policy, const struct ksel *sel, int timeout_ms,
		uint32_t *reqid);

/*
 * MIGRATE: move the tunnel endpoints of the SPs of a selector (or of a
 * dynamic policy, selector "#<id>") from old to new addresses
 * (MOBIKE / NAT mapping change).
 */
int spmif_migrate(struct spmif_client *c, const char *selector,
		  const struct kaddr *old_src, const struct kaddr *old_dst,
		  const struct kaddr *new_src, const struct kaddr *new_dst,
		  spmif_reply_cb cb, void *arg);

/* Parse an event line ("600 ACQUIRE k=v ...") into *a (exposed for
 * tests and fuzzing).  Returns 0 or -EBADMSG. */
int spmif_acquire_parse(const char *line, size_t len, struct spmif_acquire *a);
/* Parse "602 MIGRATE k=v ..." (all four addresses required, each pair
 * of one family); -EBADMSG otherwise. */
int spmif_migrate_parse(const char *line, size_t len,
			struct spmif_migrate_ev *m);

const char *spmif_kmp_name(enum spmif_kmp kmp);
int spmif_kmp_parse(const char *name, enum spmif_kmp *kmp);

#endif
