/*
 * iked.h - the iked daemon's core types: the daemon context, IKE SAs,
 * CHILD SAs and the per-SA task queue.
 *
 * Model (after strongSwan's task manager): every IKE SA keeps a queue
 * of tasks (IKE_INIT, IKE_AUTH, CHILD_CREATE, CHILD_REKEY, ...).  When
 * no request of ours is outstanding the first queued task builds the
 * next request; its response is handed back to the same task.  Requests
 * from the peer are dispatched by exchange type to the responder side
 * of the same features.  Message IDs, the retransmission timer and the
 * response cache live in struct ike_sa (sa.c); tasks never see them.
 *
 * Ownership: struct iked owns the SA table; an ike_sa owns its children,
 * tasks, cached packets and key material (wiped on free).  Children
 * refer to their IKE SA by pointer (they die with it).  Remotes and
 * policies are referred to by name so that a reload can swap the
 * configuration under live SAs.
 */
#ifndef IKED_IKED_H
#define IKED_IKED_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ike/cfg.h"
#include "ike/frag.h"
#include "ike/codec/ikev2.h"
#include "ike/dos.h"
#include "kernel/kernel.h"
#include "lib/ev.h"
#include "lib/hidx.h"

#define IKE_PORT      500
#define IKE_NATT_PORT 4500
#define IKE_MAX_PKT   65535
#define IKE_MAX_KEY   64
#define IKE_NONCE_MAX 256
#define IKE_SOCK_MAX  (2 * CFG_IFACE_MAX + 2)

struct spmif_client;
struct rw_state;
struct addrmon;
struct ike_sa;
struct v1_sa;

/* A UDP endpoint as a kernel address + port (host order). */
struct ike_ep {
	struct kaddr addr;
	uint16_t port;
};

/* Where a message came in or goes out: our endpoint, the peer's, and
 * whether it is framed for port 4500 (non-ESP marker). */
struct ike_path {
	struct ike_ep local, peer;
	bool natt;
};

struct ike_sock {
	int fd;
	int af;
	uint16_t port;
	bool natt;	   /* port 4500 style: non-ESP marker framing */
	struct kaddr addr; /* bound address, af 0 = wildcard */
	/* NAT-T with r2espd: the ESP-in-UDP sibling (k_udp_esp_sock) that
	 * r2espd reads and sends on; never read here; -1 if none */
	int espfd;
};

enum ike_state {
	IKE_S_NEW = 0,	 /* created, nothing sent */
	IKE_S_INIT_SENT, /* initiator: IKE_SA_INIT request out */
	IKE_S_INIT_DONE, /* responder: IKE_SA_INIT answered */
	IKE_S_AUTH_SENT, /* initiator: IKE_AUTH request out */
	IKE_S_ESTABLISHED,
	IKE_S_REKEYED,	/* replaced by a new IKE SA, waiting delete */
	IKE_S_DELETING, /* our DELETE is out */
	IKE_S_DEAD,	/* to be freed from the loop */
};

enum child_state {
	CHILD_S_CREATING = 0,
	CHILD_S_INSTALLED,
	CHILD_S_FAILED, /* negotiated, kernel install failed */
	CHILD_S_REKEYING,
	CHILD_S_REKEYED, /* superseded, waiting for its delete */
	CHILD_S_DELETING,
};

struct child_sa {
	struct child_sa *next;
	struct ike_sa *ike;
	enum child_state state;
	char policy[CFG_NAME_MAX];
	uint32_t reqid;
	enum kmode mode;
	uint8_t proto;		  /* IPPROTO_ESP or IPPROTO_AH */
	uint32_t spi_in, spi_out; /* host order */
	bool in_installed, out_installed;
	bool spi_larval; /* spi_in came from getspi: complete by update */
	/* IPComp beside it (RFC 7296 §2.22; no Delete payload of its own,
	 * §3.11: its SAs go with this one): ipcomp = the IPCOMP transform ID
	 * agreed (IKEV2_IPCOMP_DEFLATE), 0 = none; cpi_in = ours (allocated
	 * by getspi even when the peer then declines), cpi_out = the peer's */
	uint8_t ipcomp;
	uint16_t cpi_in, cpi_out;
	bool cpi_in_installed, cpi_out_installed;
	bool cpi_larval; /* cpi_in came from getspi: complete by update */
	struct ikev2_suite algs;
	/* lowest nonce of the exchange that created it (§2.8.1), a copy of
	 * its length (ike_nonce_min_set); NULL/0 = none */
	uint8_t *nonce_min;
	size_t nonce_min_len;
	uint32_t rekeyed_by;  /* child id that replaces this one */
	bool rekey_collision; /* peer rekeyed it while we did too */
	bool initiated;	      /* we initiated the creating exchange */
	struct ksel ts_local, ts_remote; /* negotiated (first TS of each) */
	uint64_t created_ms;
	uint64_t rekey_ms, expire_ms; /* absolute, 0 = never */
	struct ev_timer timer;
	char install_err[128]; /* kernel's reason when FAILED */
	uint32_t id;	       /* unique, for ikedctl */
	/* Keys are kept only while exporting them is on; else wiped. */
};

enum task_type {
	TASK_IKE_INIT = 1,
	TASK_IKE_AUTH,
	TASK_CHILD_CREATE,
	TASK_CHILD_REKEY,
	TASK_CHILD_DELETE,
	TASK_IKE_REKEY,
	TASK_IKE_DELETE,
	TASK_DPD,
	TASK_MOBIKE_UPDATE, /* RFC 4555 §3.5, mobike.c */
};

struct task {
	struct task *next;
	enum task_type type;
	char policy[CFG_NAME_MAX]; /* CHILD_CREATE: which policy */
	struct ksel acq_sel;	   /* CHILD_CREATE from ACQUIRE: packet */
	bool have_acq_sel;
	uint32_t acq_reqid; /* from the ACQUIRE (spmd's), 0 = ask */
	uint32_t child_id;  /* CHILD_REKEY / CHILD_DELETE */
	uint32_t spi;	    /* CHILD_DELETE of a child already gone */
	uint16_t ke_group;  /* KE group the peer asked for with
			     * INVALID_KE_PAYLOAD (0 = ours) */
	uint8_t ke_retries; /* such restarts so far */
	void *state;	    /* task's own data (nonces, DH, new SA) */
	void (*free_state)(void *state);
};

/*
 * Cached response to a request of the peer (RFC 7296 §2.1), with the
 * SHA-1 of the request it answers: only that exact request is answered
 * again (req_known false: never resent).
 */
#define IKE_REQ_HASH_LEN 20
struct resp_cache {
	bool valid;
	uint32_t mid;
	uint8_t *pkt;
	size_t len;
	bool req_known;
	size_t req_len;
	uint8_t req_hash[IKE_REQ_HASH_LEN];
	/* RFC 7296 §2.11: where the request came from, where the response
	 * went. */
	struct ike_path to;
};

#define IKE_WINDOW_MAX	 16
#define IKE_MOBIKE_ADDRS 8 /* the peer's additional addresses kept */
/* Cached responses resent per IKE SA and second at most: the cache
 * must not be an amplifier (RFC 7296 §2.1). */
#define IKE_RESEND_PER_SEC 5

/* What IKE_SA_INIT leaves for IKE_AUTH (ike_sa's init): both messages
 * (RFC 7296 §2.15: each side signs its own and MACs the other's nonce;
 * the responder also compares a retransmitted request with init_req),
 * the nonces for the first CHILD SA's keys (§2.17) and the initiator's
 * COOKIE (§2.6). */
struct ike_sa_init {
	uint8_t *init_req, *init_resp; /* full messages (AUTH octets) */
	size_t init_req_len, init_resp_len;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t cookie[64];
	size_t cookie_len;
	/* SK_pi, SK_pr (prf_len octets, sa->keys) for the AUTH payloads */
	uint8_t sk_pi[CRYPTO_MAX_KEY], sk_pr[CRYPTO_MAX_KEY];
};

/* What an established IKE SA keeps of its SKEYSEED expansion (RFC 7296
 * §2.14): SK_d and the PRF's key length. */
struct ike_sa_keys {
	size_t prf_len;
	uint8_t sk_d[CRYPTO_MAX_KEY];
};

/* RFC 7383 §2.6 reassembly state of an IKE SA, out of line (ike_sa's
 * fragst): one message per direction and the timeout dropping it. */
struct ike_sa_frag {
	struct ike_frag_rx rx[2]; /* [0] the peer's request, [1] response */
	struct ev_timer timer;
};

struct ike_sa {
	struct ike_sa *next;	/* iked.sas list */
	struct ike_sa **pprev;	/* the pointer to this SA in that list */
	uint32_t spi_h, peer_h; /* hidx hashes (iked.by_spi, by_peer) */
	bool spi_indexed, peer_indexed;
	bool init_pending;  /* responder: IKE_SA_INIT DH job out (cwork.h) */
	uint32_t dead_slot; /* 1 + position in iked.dead, 0 = not there */
	struct iked *d;
	enum ike_state state;
	uint32_t id; /* unique, for ikedctl */
	/* What a liveness check (dpd.c) reads and writes, beside the head:
	 * the check timer's fire is the first touch of the SA in
	 * dpd_delay, and these then share its cache lines instead of
	 * each being a miss of its own across the 1.8 KB struct. */
	struct ev_timer dpd;
	struct ev_timer rtx;
	uint64_t last_recv_ms;
	unsigned dpd_fails;
	bool req_out;	     /* our outstanding request, below */
	struct task *active; /* task waiting for the response */
	struct task *queue;  /* tasks not started yet */

	bool initiator;		   /* original initiator of this SA */
	uint64_t spi_i, spi_r;	   /* host order */
	char remote[CFG_NAME_MAX]; /* remote config name */
	struct ike_ep local, peer;
	bool natt;		  /* using port 4500 framing */
	bool nat_local, nat_peer; /* NAT detected (RFC 7296 §2.23) */

	struct ikev2_suite algs;
	/* SK_d (CHILD SA keys §2.17, rekey §2.18); SK_e/SK_a live in sk_in
	 * and sk_out, SK_pi/SK_pr in init until IKE_AUTH is done. */
	struct ike_sa_keys keys;
	struct ikev2_sk_ctx sk_in, sk_out;
	bool keys_ready;
	struct ike_id id_local, id_peer;

	/* IKE_SA_INIT material for IKE_AUTH (struct ike_sa_init): made by
	 * the IKE_SA_INIT exchange, freed by ike_sa_init_free() once
	 * IKE_AUTH established the SA (nothing later reads it: a rekey
	 * brings its own nonces, RFC 7296 §2.18); NULL otherwise. */
	struct ike_sa_init *init;
	struct crypto_dh *dh; /* DH context while negotiating */
	uint16_t dh_group;
	unsigned init_retries; /* INVALID_KE / COOKIE restarts */

	/* Message IDs (RFC 7296 §2.3). */
	uint32_t mid_next;	/* our next request */
	uint32_t peer_mid_next; /* next request expected from peer */
	uint32_t peer_window;	/* peer's window (we use 1 anyway) */
	uint32_t our_window;	/* requests we accept in flight */
	/* our_window entries (at most IKE_WINDOW_MAX), allocated with the
	 * first response (sa_send_response): a window of 1 costs one entry,
	 * not IKE_WINDOW_MAX inline. */
	struct resp_cache *cache;
	uint32_t ncache;
	/* The verified request being dispatched (its hash goes into the
	 * cache entry of its response); resends in the current second. */
	bool rx_req_valid;
	uint32_t rx_req_mid;
	size_t rx_req_len;
	uint8_t rx_req_hash[IKE_REQ_HASH_LEN];
	/* Where the verified request rx_req_mid came from: its response
	 * goes there (RFC 7296 §2.11), not necessarily to sa->peer. */
	struct ike_path rx_req_from;
	bool rx_req_from_set;
	uint64_t resend_since_ms;
	unsigned resends;

	/* Our outstanding request (req_out above). */
	uint32_t req_mid;
	uint8_t req_exch;
	uint8_t *req_pkt;
	size_t req_len;
	unsigned req_tries;
	uint64_t req_first_ms;
	unsigned req_reprieve_ms; /* verdict postponed for unread input */

	struct child_sa *children;

	uint64_t created_ms, established_ms;
	uint64_t rekey_ms, expire_ms;
	struct ev_timer life;	  /* rekey / expiry / nego limit */
	uint32_t peer_sig_hashes; /* RFC 7427 §4 (auth_cert.c) */
	bool initial_contact_sent;
	bool peer_sent_initial_contact;
	bool half_open;	     /* counted in d->half_open (dos.c) */
	struct dos_link ho;  /* while half_open */
	uint32_t rekeyed_to; /* id of the SA that replaced this one */
	/* §2.8.2 collision rule: as child_sa's nonce_min (a rekey's
	 * successor only) */
	uint8_t *nonce_min;
	size_t nonce_min_len;
	uint64_t bytes_in, bytes_out; /* IKE traffic, for show sa */
	uint64_t natt_ka_ms;	      /* natt.c: last NAT keepalive sent */
	/* ESP SPIs the peer deleted while our request creating a CHILD SA
	 * was out (info.c): the response may name one (child.c). */
	uint32_t early_del[4];
	unsigned n_early_del;
	/* RFC 7383: both sides sent IKEV2_FRAGMENTATION_SUPPORTED; the
	 * reassembly of the peer's fragmented request [0] and response [1]
	 * (frag.h), and its timeout. */
	bool frag;
	/* RFC 6023: both sides sent CHILDLESS_IKEV2_SUPPORTED (ike_init.c):
	 * IKE_AUTH may come without a CHILD SA. */
	bool childless;
	/* Reassembly (request [0], response [1]) and its timeout, allocated
	 * by sa_frag_rx() when a fragment arrives and freed when neither
	 * direction holds a partial message (most SAs never fragment). */
	struct ike_sa_frag *fragst;
	uint64_t frags_sent, frags_rcvd, frags_refused; /* show sa */
	/* CHILD SAs moved in place to new endpoints (natt.c, mobike). */
	uint32_t children_moved;
	/* The IKE SA left its first addresses: its CHILD SAs' endpoints
	 * are its own from then on, not the policy's (child.c). */
	bool moved;
	/* RFC 4555 (mobike.c): negotiated; the peer's additional
	 * addresses (§3.4); UPDATE_SA_ADDRESSES done. */
	bool mobike;
	struct kaddr peer_addrs[IKE_MOBIKE_ADDRS];
	unsigned npeer_addrs;
	uint32_t mobike_updates;
};

struct iked_opts {
	const char *conf_path;
	const char *backend;   /* kernel backend name */
	const char *ctl_path;  /* overrides config */
	const char *keyexport; /* overrides config */
	bool foreground;
	bool test_only;
	int debug; /* -d count */
	bool no_spmd;
	/* racoon2's iked options */
	uint16_t port;		   /* -p: IKE port where none is written */
	uint16_t target_port;	   /* -t: peers' port where none is written */
	int only_af;		   /* -4/-6: AF_INET/AF_INET6, 0 = both */
	const char *initiate_addr; /* -I: initiate to this peer at start */
	const char *initiate_sel;  /* -S: initiate this selector at start */
	const char *pcap;	   /* -P: pcap file ("+FILE" appends) */
	int workers; /* --workers: crypto threads, -1 = cwork_default() */
};

struct net_io;

struct iked {
	struct ev_loop *loop;
	struct iked_opts opts;
	struct ike_cfg *cfg;
	struct kernel kern;
	bool kern_open;

	struct ike_sock sock[IKE_SOCK_MAX];
	size_t nsock;
	struct net_io *nio; /* net.c: batched send queue, receive buffers */

	int ctl_fd;
	char ctl_path[CFG_PATH_MAX];
	size_t ctl_out_max; /* largest control answer; 0: ctl.c's default */

	struct spmif_client *spm;
	struct ev_timer spm_retry;
	struct rw_state *rw; /* road warriors, CP, NAT-T (rw.h) */
	struct addrmon *am;  /* local addresses, MOBIKE moves (addrmon.h) */

	struct ike_sa *sas;
	/* natt.c: SAs with our side behind a NAT at the last keepalive scan,
	 * and whether one became so since; while both are 0 the 1 s scan
	 * skips the walk over sas (100,000 peers behind NATs need none). */
	unsigned ka_sas;
	bool ka_dirty;
	/* Indexes over sas (lib/hidx.h, values are struct ike_sa *):
	 * by_spi by spi_i (ike_sa_rehash), by_peer by remote name + peer
	 * identity of SAs that reached ESTABLISHED (ike_sa_set_state). */
	struct hidx by_spi, by_peer;
	struct cwork *cw;    /* crypto workers (cwork.h), NULL = inline */
	struct v1_sa *v1sas; /* IKEv1 ISAKMP SAs (v1.c) */
	unsigned half_open;
	struct dos dos; /* half-open table and limits (dos.h) */
	uint32_t next_sa_id, next_child_id;
	struct ev_timer reaper;
	/* SAs killed and not yet freed: the reaper frees these instead of
	 * walking every SA (a wave of deaths at 100,000 SAs); dead_all when
	 * the array could not grow (then it walks). */
	struct ike_sa **dead;
	size_t ndead, capdead;
	bool dead_all;

	uint8_t cookie_secret[32];
	uint8_t cookie_prev_secret[32]; /* the one before the last rotation */
	bool cookie_prev_valid;
	uint8_t cookie_version;
	uint64_t cookie_secret_ms;

	int pcap_fd; /* -P (pcap.c), when pcap_on */
	bool pcap_on;
	FILE *keyexport;     /* ikev2_decryption_table */
	FILE *keyexport_esp; /* esp_sa */
	FILE *keyexport_ah;  /* ah_sa: esp_sa's format (Wireshark has no
			      * AH table; tests/lib/ahcheck.py reads it) */
	FILE *keyexport_v1;  /* ikev1_decryption_table (v1.c) */
	char keyexport_path[CFG_PATH_MAX];

	/* Hook for tests: send through this instead of a socket. */
	int (*send_hook)(struct iked *d, const struct ike_ep *from,
			 const struct ike_ep *to, const uint8_t *pkt,
			 size_t len, void *arg);
	void *send_hook_arg;
};

/* ---- net.c: sockets ---- */
int net_open(struct iked *d);
void net_close(struct iked *d);
/* Batched I/O buffers and the loop's flush hook (net_open does it; a
 * test with its own sockets in d->sock calls it). */
int net_io_init(struct iked *d);
/* Send what net_send queued (the loop calls it after each iteration). */
void net_flush(struct iked *d);
/* Hand r2espd the NAT-T sockets' ESP siblings (all or none; at start and
 * after each KEV_RESYNC: a restarted r2espd has none). */
void net_give_esp(struct iked *d);
/* Send an IKE message from local to peer; natt adds the non-ESP marker.
 * With the sockets open (net_open) the datagram is queued and goes out
 * at the end of the loop iteration (net_flush, one sendmmsg per run of
 * datagrams for one socket); 0 then means queued. */
int net_send(struct iked *d, const struct ike_ep *local,
	     const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	     size_t len);
/* Input path shared by sockets and tests (marker already stripped). */
void ike_input(struct iked *d, const struct ike_ep *local,
	       const struct ike_ep *peer, bool natt, const uint8_t *pkt,
	       size_t len);
uint16_t net_local_port(struct iked *d, const struct kaddr *a, bool natt);
/* The source address the routing table picks towards peer. */
int net_route_src(const struct kaddr *peer, struct kaddr *src);
/* A socket can send from local (wildcard or bound to it), natt framing. */
bool net_can_send(struct iked *d, const struct ike_ep *local, bool natt);
/* Some IKE socket holds a datagram the loop has not read yet. */
bool net_rx_pending(const struct iked *d);
/* The path MTU the kernel knows towards peer (route or PMTU cache),
 * or a negative errno. */
int net_path_mtu(const struct kaddr *peer);
void ike_ep_to_ss(const struct ike_ep *ep, struct sockaddr_storage *ss,
		  socklen_t *sl);
void ike_ep_from_ss(const struct sockaddr_storage *ss, struct ike_ep *ep);
const char *ike_ep_str(const struct ike_ep *ep, char *buf, size_t len);

/* ---- sa.c: table, message IDs, retransmission, tasks ---- */
struct ike_sa *ike_sa_new(struct iked *d, bool initiator);
void ike_sa_free(struct ike_sa *sa);
/* After spi_i is set: 0 or -ENOMEM (the SA is then not findable). */
int ike_sa_rehash(struct ike_sa *sa);
/* The live SA with this spi_i and ikedctl id (a crypto job's owner,
 * cwork.h), or NULL. */
struct ike_sa *ike_sa_find_id(struct iked *d, uint64_t spi_i, uint32_t id);
/* The SAs of remote `remote` with peer identity id that reached
 * ESTABLISHED (any state since, DEAD included): walk with
 * ike_sa_by_peer_next(); the index must not change during the walk. */
struct ike_sa *ike_sa_by_peer_first(struct iked *d, struct hidx_it *it,
				    const char *remote,
				    const struct ike_id *id);
struct ike_sa *ike_sa_by_peer_next(struct iked *d, struct hidx_it *it,
				   const char *remote, const struct ike_id *id);
struct ike_sa *ike_sa_find(struct iked *d, uint64_t spi_i, uint64_t spi_r);
/* Responder: a half-open SA the peer is retransmitting INIT for. */
struct ike_sa *ike_sa_find_init(struct iked *d, uint64_t spi_i,
				const struct ike_ep *peer);
/* Mark dead and free from the event loop (safe inside callbacks). */
void ike_sa_kill(struct ike_sa *sa, const char *why);
/* The same for a half-open SA removed by a limit (dos.c): logged at
 * debug level only, the caller logs a rate-limited summary. */
void ike_sa_drop(struct ike_sa *sa, const char *why);
/* The only writers of sa->state / c->state: refuse (with a log line)
 * and return false for a change their life cycle does not allow. */
bool ike_sa_set_state(struct ike_sa *sa, enum ike_state st);
bool child_set_state(struct child_sa *c, enum child_state st);
const char *ike_state_name(enum ike_state st);
const char *child_state_name(enum child_state st);

struct task *task_new(enum task_type type);
void task_free(struct task *t);
void task_free_state(struct task *t);
/* Queue t (owned by the queue afterwards; freed at once when
 * IKE_TASK_MAX tasks already wait). */
#define IKE_TASK_MAX 256
void task_queue(struct ike_sa *sa, struct task *t);
bool task_queued(const struct ike_sa *sa, enum task_type type);
/* Start the next queued task if no request is outstanding. */
void task_run(struct ike_sa *sa);
const char *task_name(enum task_type t);

/* Send a request built by a task; sa.c owns pkt afterwards. */
int sa_send_request(struct ike_sa *sa, uint8_t exch, uint8_t *pkt, size_t len);
/* Send and cache the response to the peer's request mid. */
int sa_send_response(struct ike_sa *sa, uint32_t mid, uint8_t *pkt, size_t len);
void sa_request_done(struct ike_sa *sa);
/* RFC 7296 §2.8.1/§2.8.2: *dst becomes a copy of the lower of an
 * exchange's nonces (ikev2_nonce_lowest), an earlier one freed; 0 or
 * -ENOMEM (then *dst NULL, *dlen 0: such an SA compares lowest). */
int ike_nonce_min_set(uint8_t **dst, size_t *dlen, const uint8_t *ni,
		      size_t ni_len, const uint8_t *nr, size_t nr_len);
/* sa->init, allocated if needed (NULL when out of memory); freed (and
 * wiped) by ike_sa_init_free() when IKE_AUTH established the SA. */
struct ike_sa_init *ike_sa_init_get(struct ike_sa *sa);
void ike_sa_init_free(struct ike_sa *sa);
/* The reassembly of the peer's requests (response false) or responses,
 * allocating sa->fragst if needed; NULL when out of memory. */
struct ike_frag_rx *sa_frag_rx(struct ike_sa *sa, bool response);
/* (Re)arm the timeout of the IKE fragments being reassembled; with no
 * partial message left, sa->fragst is freed. */
void sa_frag_timer(struct ike_sa *sa, struct ev_loop *loop);
/*
 * Inbound message classification by message ID (RFC 7296 §2.1, §2.3),
 * before the ICV: true if the caller should go on to verify it (a new
 * request inside our window, or the response to our request).  A
 * request with an old message ID is answered from the cache only when it
 * is octet for octet the request that was answered (rate limited, see
 * IKE_RESEND_PER_SEC); anything else is dropped.  Changes nothing else.
 */
bool sa_check_mid(struct ike_sa *sa, const struct ike_msg *m,
		  const struct ike_path *from);
/* The request m passed the ICV: remember its hash for the cache entry
 * of the response that sa_send_response() will send for it, and where
 * it came from (the response goes there, RFC 7296 §2.11). */
void sa_request_verified(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ike_path *from);
/* Resend the cached response to request mid (rate limited) to `to`
 * (where the retransmitted request came from; NULL: where the
 * response went first). */
void sa_resend_response(struct ike_sa *sa, uint32_t mid,
			const struct ike_path *to);

/* A CHILD SA owned by its creator until child_attach() gives it to its
 * IKE SA; child_free() (uninstall + free) is its only way to die
 * (child.c). */
struct child_sa *child_new(struct ike_sa *sa);
void child_attach(struct child_sa *c);

/* ---- mobike.c: MOBIKE (RFC 4555) ---- */
void mobike_put_auth(struct ikev2_wr *b, const struct ike_sa *sa,
		     const struct ike_remote *r);
void mobike_read_auth(struct ike_sa *sa, const struct ike_msg *m,
		      const struct ike_remote *r);
/* An INFORMATIONAL request being answered into b: UPDATE_SA_ADDRESSES,
 * address lists, COOKIE2. */
void mobike_info_r(struct ike_sa *sa, const struct ike_msg *m,
		   struct ikev2_wr *b);
/* Initiator: move our end of sa to new_local (and the peer's to
 * new_peer unless NULL) with UPDATE_SA_ADDRESSES. */
int mobike_update(struct ike_sa *sa, const struct ike_ep *new_local,
		  const struct ike_ep *new_peer);
int mobike_update_initiate(struct ike_sa *sa, struct task *t);
void mobike_update_process_i(struct ike_sa *sa, struct task *t,
			     const struct ike_msg *m);
/* Move c's SAs and policy templates in place to the IKE SA's current
 * endpoints and encapsulation (kernel MIGRATE), from old_local/old_peer;
 * 0 or the backend's error (child.c). */
int child_migrate(struct child_sa *c, const struct ike_ep *old_local,
		  const struct ike_ep *old_peer);
void child_free(struct child_sa *c);
struct child_sa *child_find_spi(struct ike_sa *sa, uint32_t spi, bool in);
struct child_sa *child_find_id(struct iked *d, uint32_t id);
/* The IKEv2 protocol ID of a CHILD SA (RFC 7296 §3.3.1: ESP or AH). */
uint8_t child_ike_proto(const struct child_sa *c);
void child_unlink(struct child_sa *c);

/* ---- daemon glue (iked.c) ---- */
int iked_initiate(struct iked *d, const char *remote, const char *policy,
		  const struct ksel *acq_sel, char *err, size_t errlen);
/* The same for an ACQUIRE of policy (named): its reqid (spmd's, or the
 * kernel template's) goes to the CHILD SA, 0 = ask spmd (policy_reqid). */
int iked_initiate_acquire(struct iked *d, const char *remote,
			  const char *policy, const struct ksel *acq_sel,
			  uint32_t reqid, char *err, size_t errlen);
int iked_reload(struct iked *d, char *err, size_t errlen);
void iked_schedule_reap(struct iked *d);
void iked_reap(struct ev_loop *loop, struct ev_timer *t, void *arg);

/* ---- ctl.c ---- */
int ctl_open(struct iked *d);
void ctl_close(struct iked *d);
struct wr;
/* One request line (at most 1 KiB is read) parsed and run; the answer
 * ("0 ok" or "1 error" line, then the body) is appended to out.  The
 * control socket's connections and the fuzz harness use it. */
int ctl_request(struct iked *d, const uint8_t *req, size_t len, struct wr *out);

/* ---- pcap.c (iked -P) ---- */
int ike_pcap_open(struct iked *d, const char *spec);
void ike_pcap_close(struct iked *d);
void ike_pcap_write(struct iked *d, const struct ike_ep *src,
		    const struct ike_ep *dst, const uint8_t *pkt, size_t len);

/* ---- script.c / keyexport.c ---- */
void script_run(struct iked *d, const struct ike_sa *sa,
		const struct child_sa *c, enum cfg_script which);
struct priv_env;
/* The parent's half (priv.h): env checked, then the program run. */
bool script_env_ok(const struct priv_env *env);
void script_exec(const char *path, unsigned which, const char *remote,
		 const struct priv_env *env);
int keyexport_open(struct iked *d, const char *path);
void keyexport_close(struct iked *d);
void keyexport_ike(struct iked *d, const struct ike_sa *sa,
		   const struct ikev2_sa_keys *k);
void keyexport_child(struct iked *d, const struct child_sa *c,
		     const uint8_t *kin, const uint8_t *kout, size_t enc_len,
		     size_t integ_len);

#endif
