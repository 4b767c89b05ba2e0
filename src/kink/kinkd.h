/*
 * kinkd.h - the KINK daemon's state (RFC 4430): peers, SAs, exchanges in
 * flight, the per-XID reply cache.  One process, one event loop.
 */
#ifndef RACOON_KINKD_H
#define RACOON_KINKD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "isakmp/bundle.h"
#include "isakmp/isakmp.h"
#include "kernel/kernel.h"
#include "lib/ev.h"

struct kink_krb;
struct kink_auth;
struct spmif_client;
struct crypto_dh;

#define KINKD_NONCE_MAX 64

struct kpeer {
	struct kpeer *next;
	const struct conf_remote *r;
	const struct conf_kmp_params *kp;
	struct sockaddr_storage addr;
	socklen_t alen;
	uint32_t epoch; /* the peer's, from its last authenticated message */
	bool epoch_known;
	uint64_t heard_ms; /* its last authenticated message (dpd_delay) */
	/* User-to-User (RFC 4430 §4.3): the peer's TGT from GETTGT; our
	 * AP_REQs to it then carry tickets encrypted in its session key */
	uint8_t *tgt;
	size_t tgt_len;
	uint64_t tgt_sent_ms; /* our last KINK_TGT_REP to it */
};

/* One protocol of a negotiated bundle: its pair of SAs. */
struct kchild_sa {
	uint8_t proto;		  /* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	uint32_t spi_in, spi_out; /* IPComp: the CPIs */
	uint16_t encr_id, encr_keybits, integ_id, comp_id;
	bool in_installed, out_installed;
};

#define KCHILD_MAX_SA 3 /* ESP, AH, IPComp */

/* One negotiated bundle (racoon2's sa_index: AH, ESP, IPComp ANDed,
 * RFC 2408 §4.2): sa[0] is its ESP pair, else its AH pair, whose SPIs
 * name the bundle (DELETE, rekey, kinkctl). */
struct kchild {
	struct kchild *next;
	struct kpeer *peer;
	uint8_t nsa;
	struct kchild_sa sa[KCHILD_MAX_SA];
	struct kaddr local, remote; /* SA endpoints */
	uint32_t reqid;
	enum kmode mode;
	bool initiator;
	bool rekeying; /* a CREATE replacing this pair is in flight */
	uint64_t created_ms;
	char remote_name[64], policy[64]; /* initiator: for the rekey */
};

/* An exchange we initiated, waiting for its REPLY. */
struct kxchg {
	struct kxchg *next;
	struct kinkd *d;
	struct kpeer *peer;
	uint32_t xid;
	uint8_t type;
	uint8_t *pkt;
	size_t len;
	unsigned tries;
	bool skew_retried;
	bool u2u_tried; /* CREATE: GETTGT done once after KRB_ERROR */
	bool await_tgt; /* CREATE: waiting for our GETTGT's REPLY */
	struct ev_timer timer;
	struct kink_auth *auth;
	/* CREATE */
	struct kchild *child; /* addresses, reqid, mode */
	uint8_t nonce[KINKD_NONCE_MAX];
	size_t nonce_len;
	struct isakmp_bundle_conf bc;	/* what we offered */
	struct isakmp_bundle_spis ours; /* our inbound SPIs (larval) */
	uint32_t old_spi; /* rekey: inbound SPI of the pair to delete */
	/* PFS (need_pfs): our ephemeral DH key of group (RFC 2409 §5.5) */
	struct crypto_dh *dh;
	uint16_t group;
	/* IDci, IDcr sent (RFC 2409 §5.5), n_id 0 or 2 */
	uint8_t n_id;
	struct isakmp_id id[2];
};

/* The responder's REPLY to (peer address, XID), kept for duplicates;
 * also a 3-way CREATE waiting for its ACK. */
struct kreply {
	struct kreply *next;
	struct sockaddr_storage addr;
	socklen_t alen;
	uint32_t xid;
	uint8_t *req, *rep;
	size_t req_len, rep_len;
	uint64_t expires_ms;
	struct kchild *await_ack; /* outbound SAs not installed yet */
	struct ksa *out_sa;	  /* their keys (await_ack->nsa), until
				   * the ACK */
};

struct kinkd {
	struct ev_loop *loop;
	struct conf *conf;
	struct kernel kern;
	struct kink_krb *krb;
	FILE *keyexport_esp; /* -K DIR: DIR/esp_sa (Wireshark UAT), or NULL */
	FILE *keyexport_ah;  /* -K DIR: DIR/ah_sa (the same format), or NULL */
	struct spmif_client *spm;
	const char *my_principal;
	int fd4, fd6;
	uint16_t port;
	uint32_t epoch;
	uint32_t next_xid;
	struct kpeer *peers;
	struct kchild *children;
	struct kxchg *xchgs;
	struct kreply *replies;
	struct ev_timer sweep;
	struct {
		uint64_t rx, rx_bad, rx_bad_cksum, rx_replay, rx_dup;
		uint64_t tx, creates, deletes, sa_installed, status_sent,
		    dead_peers;
	} stats;
	bool stopping;
};

#endif
