/*
 * espd.h - r2espd, the userspace ESP data plane: shared state of the
 * daemon's two halves, espd.c (control socket, SPD, SAD, events, timers)
 * and espd_net.c (TUN device, raw sockets, packet path, routes).
 *
 * UDP port 4500 (RFC 3948) - the design choice.  iked owns UDP 500 and
 * 4500 exactly as with the XFRM backend.  In userspace mode its 4500
 * socket carries a classic-BPF filter that drops ESP-in-UDP (payload
 * longer than a keepalive whose first four octets are not the non-ESP
 * marker, RFC 3948 §2.2), so iked sees only IKE and keepalives.  (It
 * used UDP_ENCAP_ESPINUDP at first, like with XFRM, but then the kernel
 * pushes every ESP-in-UDP datagram through XFRM input, fails, and tries
 * an ICMP error: ~16% of the sender's CPU.)  r2espd never binds 4500: it
 * taps ESP-in-UDP with a raw IPPROTO_UDP socket (v4 and v6) whose
 * classic-BPF socket filter keeps only "dst port 4500, payload longer than
 * a marker, first four bytes non-zero", and sends ESP-in-UDP from source
 * port 4500 through the same raw sockets (we write the UDP header;
 * IPv6 checksum by IPV6_CHECKSUM).  Raw sockets get their copy before UDP
 * demultiplexing, so neither daemon depends on the other being up or on
 * the order they start or restart in; there is no shared socket state.
 * (This tap is now the fallback: see "With iked" in the third pass below
 * for the reuseport group iked owns alone.)
 * The alternatives were rejected: SO_REUSEPORT + SO_ATTACH_REUSEPORT_CBPF
 * shared by both daemons steers by socket *index* in the group, and Linux moves
 * the last socket into the hole when one closes, so restarting r2espd swaps the
 * indexes and sends IKE to the data plane until someone re-attaches the
 * program; it also needs both daemons to bind the identical address (an iked
 * bound to a specific address wins the lookup and starves r2espd).  Forwarding
 * between the daemons (either direction) puts a second process and an extra
 * copy/syscall on one of the paths and couples their lifetimes.  Cost of the
 * tap: one skb clone + a 10 instruction filter per UDP datagram in the
 * namespace, measured in bench/esp_throughput.sh.  Without any IKE daemon
 * (static SAs), r2espd -u binds its own UDP 4500 sockets so the kernel does not
 * answer ESP-in-UDP with ICMP port unreachable, and then carries ESP-in-UDP
 * through them with UDP GRO / UDP GSO (third pass below); the raw UDP
 * taps' filter drops everything.  (UDP_ENCAP_ESPINUDP on such a socket
 * costs more on a kernel without ESP: XFRM input finds no ESP handler
 * and attempts an ICMP port unreachable for every ESP-in-UDP packet.)
 *
 * Speed - what the profile showed and what was done.  Kernel work per
 * packet dominates, not AES-GCM: the TCP stacks on both sides and one
 * syscall per packet on TUN.  The TUN device is therefore opened with
 * IFF_VNET_HDR and TSO/checksum offloads (espd_off.c): the sender's stack
 * hands r2espd 64 KiB super-packets that r2espd cuts into MTU-sized
 * segments itself, and on the way in consecutive segments of one TCP
 * flow (one recvmmsg batch) are written back as one GSO super-packet, so
 * each stack runs once per burst.  Outer packets still cost one raw-socket
 * send each (sendmmsg batches of ESPD_BATCH).  One thread: on a two-core
 * machine both r2espd ends, both TCP stacks and iperf already share the
 * cores, and one TCP stream loads one direction of each daemon, so worker
 * threads would only add locking; -n turns the offloads off for
 * comparison (bench/esp_throughput.sh).
 *
 * Second pass (cost per packet of one TCP stream: CPU time of r2espd,
 * including the kernel work of its syscalls and the softirqs they run,
 * bench/esp_throughput.sh).  Before it the sending r2espd spent ~2.5 us per
 * packet (ESP-in-UDP ~2.9), the receiving one ~1.9 us.  Of the sender's
 * samples ~60% are sendmmsg on the raw socket (route lookup, copy with
 * checksum, veth, and the receiver's IP input up to its raw socket queue,
 * run in the sender's softirq), ~16% libcrypto; of the receiver's ~27%
 * recvmmsg, ~24% the TUN write (its TCP stack), ~20% libcrypto.  A bare raw
 * ESP send + receive over veth costs ~1.4 + 0.8 us per packet here, which
 * already exceeds the ~2.4 us per packet that two cores can spend at 50% of
 * `openssl speed -evp aes-128-gcm` (~845k packets/s of 1348 payload bytes).
 * Done: TSO segments are built in the TX slot and encrypted in place (one
 * copy and one cipher call less); the Internet checksum adds 64-bit words
 * in four carry chains (half the time); GCM decryption passes the explicit
 * IV and the tag in one parameter call (the salt stays in the context)
 * instead of a re-init; tags go through the provider parameter directly.
 * Userspace work per packet (both ends) went from ~17,900 to ~14,800
 * instructions.  The -u sockets no longer use UDP_ENCAP (above): -16%
 * sender CPU per ESP-in-UDP packet.  Measured and rejected: IP_HDRINCL (1.6
 * instead of 1.45 us per raw send + receive in a microbenchmark, although
 * it skips the copy with checksum); EVP_CTRL_GCM_IV_GEN for encryption (~20
 * ns less, but the IV would no longer be the sequence number).  Evaluated, not
 * adopted: an AF_PACKET socket for outer packets (own IP header, next-hop MAC
 * from the kernel's neighbour table) cut the sender's cost ~12% in a prototype,
 * but bypasses netfilter OUTPUT/POSTROUTING and needs userspace neighbour,
 * route and MTU tracking.
 *
 * Third pass (issue 14; perf of both workers under one TCP stream: kernel
 * ~70%, of it raw sendmmsg ~42% including the peer's IP input run in the
 * sender's softirq, recvmmsg ~7%, TUN write ~7%, epoll ~5%; libcrypto
 * ~16%; r2espd's own code ~7%).  UDP GSO/GRO for ESP-in-UDP where r2espd
 * owns UDP 4500 (-u): consecutive ESP packets of one SA whose sizes do
 * not grow (the segments of a TSO super-packet) leave in one UDP_SEGMENT
 * send (espd_net.c utx_queue: route, netfilter and device once per run),
 * and UDP_GRO hands the receiver runs of datagrams in one read.  Per
 * ESP-in-UDP packet: sender -58%, receiver -43% (bench, same run).
 * With iked (issue 14): iked binds an ESP sibling beside each NAT-T
 * socket in one SO_REUSEPORT group whose classic-BPF program steers the
 * non-ESP marker and keepalives to iked's socket (index 0) and ESP to
 * the sibling (index 1), holds both, and gives r2espd the siblings
 * (ESPM_UDP_SOCKS, espd_given below); r2espd uses them as the -u
 * sockets.  One process owning the whole group keeps its indexes stable
 * (the rejected variant above, a group shared by both daemons, reorders
 * on restart); a raw tap could not take GSO runs anyway (veth delivers
 * them unsegmented and the tap has no segment size).  ESP over protocol
 * 50 has no GSO in Linux; what is left for it is fewer syscalls per
 * packet (AF_PACKET / PACKET_MMAP TX ring, rejected above) or more cores
 * (ARCHITECTURE.md: multi-queue TUN).
 *
 * Ownership: struct espd and everything hanging off it (SAs, policies,
 * queues, clients, packet buffers) belong to the daemon; SAs hold keys
 * and are wiped on removal.
 */
#ifndef RACOON_ESPD_H
#define RACOON_ESPD_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "lib/hidx.h"
#include "lib/outq.h"
#include "lib/paths.h"
#include "kernel/userspace/ah.h"
#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"

struct ev_loop;

#define ESPD_BATCH 64 /* packets per recvmmsg/sendmmsg */
/* -u: datagrams per recvmmsg on the own UDP 4500 sockets, each with
 * room for a GRO run (64 KiB): 2 MiB of address space, whose pages are
 * touched only as far as runs fill them (a batch of 4 cost the receiver
 * ~3 us more per packet than the raw tap's 64 when datagrams arrive one
 * by one) */
#define ESPD_URX_N	 32
#define ESPD_URX	 65536
#define ESPD_SLOT	 2048 /* one packet buffer */
#define ESPD_QLEN	 4    /* packets queued per policy awaiting an SA */
#define ESPD_ACQ_RETRY	 10   /* s between ACQUIREs for one policy */
#define ESPD_LARVAL_LIFE 60   /* s a getspi reservation lives */
#define ESPD_MAX_CLIENTS 32
/* A control client's unsent output (lib/outq.h): one answer whole (a
 * dump is a snapshot of the table, bounded by the table's own limits
 * below; the client's next request is not read until it is sent), plus
 * at most this much of unsolicited events; past it the client is
 * disconnected, logged (an events client such as iked reconnects). */
#define ESPD_EVQ_MAX (1u << 20)
/* Memory bounds (ARCHITECTURE.md, r2espd(8)): SAD entries (larval
 * included; ~4 KiB each with their cipher contexts), policies, and
 * policies that hold a queue of packets waiting for an SA
 * (ESPD_QLEN * ESPD_SLOT = 8 KiB each, freed when drained). */
#define ESPD_MAX_SAS	32768
#define ESPD_MAX_POLS	32768
#define ESPD_MAX_QUEUES 1024
#define ESPD_RTPROT	0x9a /* rtm_protocol of the routes we install */
/* transport mode (espd_rules in espd_priv.c): the routes to transport
 * peers' own addresses live in this table, consulted after rules that
 * send IKE, KINK and r2espd's own marked sockets to main */
#define ESPD_TABLE	154
#define ESPD_MARK	ESPM_MARK /* SO_MARK of r2espd's sockets */
#define ESPD_RULE_PRIO	15400U
#define ESPD_MAX_ROUTES 65536 /* routes the privileged parent installs */
/* default chroot of the worker (created, mode 0755, if missing) */
#define ESPD_CHROOT_DEFAULT R2_CHROOT_DIR
#define NAT_T_PORT	    4500

/* espd_off.c: TUN offloads (IFF_VNET_HDR, TSO in, GRO-style out). */
#define OFF_VNET_LEN	 10 /* sizeof(struct virtio_net_hdr) */
#define OFF_F_NEEDS_CSUM 1
#define OFF_GSO_NONE	 0
#define OFF_GSO_TCPV4	 1
#define OFF_GSO_TCPV6	 4
#define OFF_GSO_UDP_L4	 5 /* USO (TUN_F_USO4/6), both families */
#define OFF_GSO_ECN	 0x80
#define OFF_GRO_MAX	 64 /* segments per coalesced packet */

struct off_vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset; /* host order */
};

/* Pending coalesced TCP packet: buf = virtio-net header + IP packet. */
struct off_gro {
	uint8_t *buf;
	size_t cap, len; /* len: IP packet bytes, 0 = nothing pending */
	unsigned nseg;
	uint8_t af, psh;
	bool closed; /* a short or PSH segment ended the burst */
	size_t iphl, thl, mss;
	uint32_t next_seq;
	uint16_t last_id;
};

typedef int (*off_seg_cb)(void *arg, const uint8_t *pkt, size_t len);
/* Where to build the next TSO segment: *cap bytes (NULL: no room). */
typedef uint8_t *(*off_buf_cb)(void *arg, size_t *cap);
/* buf: virtio-net header + packet (len bytes in all), nseg segments. */
typedef int (*off_write_cb)(void *arg, uint8_t *buf, size_t len, unsigned nseg);

uint64_t off_csum_add(uint64_t sum, const uint8_t *p, size_t n);
uint64_t off_csum_copy(uint64_t sum, uint8_t *dst, const uint8_t *src,
		       size_t n);
uint16_t off_csum_fold(uint64_t sum);
int off_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t off);
int off_vnet_parse(const uint8_t *buf, size_t len, struct off_vnet *h);
void off_vnet_put(uint8_t *buf, const struct off_vnet *h);
/*
 * Hand every packet contained in one read from TUN (pkt: after the
 * virtio-net header) to cb: completes a partial checksum, or segments a
 * TSO packet in scratch (cap bytes).  Returns the number of packets or
 * -EBADMSG / -EMSGSIZE / cb's error.
 */
int off_segment(const struct off_vnet *h, uint8_t *pkt, size_t len,
		uint8_t *scratch, size_t cap, off_seg_cb cb, void *arg);
/* The same, each segment built in the buffer getbuf(barg) returns. */
int off_segment_to(const struct off_vnet *h, uint8_t *pkt, size_t len,
		   off_buf_cb getbuf, void *barg, off_seg_cb cb, void *arg);
void off_gro_init(struct off_gro *g, uint8_t *buf, size_t cap);
/* Add one inbound packet: merged into the pending one, or the pending
 * one is written first; non-TCP packets are written as they are. */
int off_gro_push(struct off_gro *g, const uint8_t *pkt, size_t len,
		 off_write_cb cb, void *arg);
int off_gro_flush(struct off_gro *g, off_write_cb cb, void *arg);

struct espd_sa {
	struct espd_sa *next, **pprev; /* all SAs (newest first) */
	uint64_t seq;		       /* order of installation */
	struct ksa k;		       /* as installed, keys included */
	struct esp_sa esp;
	bool larval;
	uint64_t larval_expire;
	uint64_t mapping_sent;
};

/*
 * SA bundles (RFC 4301 §4.5; racoon2's sa_index { ah; esp; ipcomp; }).
 * A policy's templates are kept in the order spmd sends them, innermost
 * first (XFRM's order): IPComp, then ESP, then AH; only the innermost
 * may be a tunnel.  Output applies them in that order (IPComp first, AH
 * last, over the final outer IP header); input peels them from the
 * outside in, and the inbound policy check wants the same sequence
 * (a missing template of level "use" - IPComp, RFC 3173 §2.1 - may be
 * skipped, like XFRM's optional templates).
 */
struct espd_bundle {
	unsigned n;
	struct espd_sa *sa[KPOL_MAX_TMPL]; /* innermost first */
};

/*
 * One transform of a bundle that is not the outermost one (and, for
 * input, every one after the first): the hook through which a protocol
 * plugs in (espd_xf.c, espd_xf_find()).  Both signatures are esp.h's:
 * out protects payload (next header nh) into out, in verifies/decodes
 * pkt into out with *nh the next header.  out may return 1: "not
 * applied" (IPComp's small or incompressible payloads, RFC 3173 §2.2),
 * the payload then goes on unchanged with its own next header.
 * Outermost AH is not here: it needs the outer IP header (espd_net.c).
 */
struct espd_xf {
	uint8_t proto;
	/* SPI / CPI (and sequence number, 0 if none) of a packet */
	int (*peek)(const uint8_t *pkt, size_t len, uint32_t *spi,
		    uint32_t *seq);
	int (*out)(struct esp_sa *sa, const uint8_t *payload, size_t len,
		   uint8_t nh, uint8_t *out, size_t outcap, size_t *outlen,
		   uint64_t now_sec, unsigned *events);
	int (*in)(struct esp_sa *sa, const uint8_t *pkt, size_t len,
		  uint8_t *out, size_t outcap, size_t *outlen, uint8_t *nh,
		  uint64_t now_sec, unsigned *events);
};
/* The transform of proto, or NULL when r2espd cannot carry it. */
const struct espd_xf *espd_xf_find(uint8_t proto);

/*
 * SPD index (issue 14): a policy is hashed by its shape - direction,
 * selector family, source and destination prefix lengths - and its
 * addresses masked to those lengths; a flow is looked up once per shape
 * in use (struct espd_shape, a handful in practice), the candidates
 * checked with ksel_match_flow().  Precedence as before (espd.c).
 */
struct espd_shape {
	struct espd_shape *next;
	uint8_t dir, af, splen, dplen;
	unsigned n; /* policies of this shape */
};

struct espd_pol {
	struct espd_pol *next, **pprev; /* all policies (newest first) */
	uint64_t seq;			/* order of installation */
	struct espd_shape *shape;	/* its shape in espd.shapes */
	uint32_t sel_h;			/* hash of shape + masked selector */
	struct kpolicy p;
	uint64_t add_sec;
	/* outbound bundle cache, valid while sa_gen == espd.sa_gen and
	 * b.n != 0 */
	struct espd_bundle b;
	uint64_t sa_gen;
	/* packets waiting for an SA (ring), allocated on first use */
	uint8_t *q;
	uint16_t qlen[ESPD_QLEN];
	unsigned qhead, qcount;
	uint64_t acq_sent;
	bool routed;
};

struct espd_client {
	int fd;
	bool events;
	bool want_out;	 /* watching EPOLLOUT, not EPOLLIN */
	struct outq out; /* unsent replies and events (datagrams) */
};

struct espd_stats {
	uint64_t tun_rx, tun_tx, esp_rx, esp_tx;
	uint64_t no_policy, discard, no_sa, queued, queue_drop, acquires;
	uint64_t enc_fail, send_fail, unknown_spi, decap_fail, policy_drop;
	uint64_t malformed, too_big;
	/* AH (RFC 4302): packets in/out, drops by reason */
	uint64_t ah_rx, ah_tx, ah_malformed, ah_auth, ah_replay, ah_other;
	/* IPv6 AH refused for a routing header with segments left > 0 in
	 * front of it (in or out, RFC 4302 Appendix A.2; ah.c) */
	uint64_t ah_routing;
	/* IPComp (RFC 3173): inbound payloads dropped as decompression
	 * bombs (beyond the bound, ipcomp.h) or as bad DEFLATE/headers */
	uint64_t comp_bomb, comp_bad;
	uint64_t tun_gso, tun_gro, tun_write_fail;
	/* ESP-in-UDP through own or given UDP 4500 sockets: UDP GSO sends
	 * of 2 or more packets, UDP GRO runs of 2 or more received, ESP
	 * datagrams received, and IKE or keepalives received there (the
	 * given sockets' steering sends those to the IKE daemon: 0) */
	uint64_t udp_gso, udp_gro, udp_rx, udp_not_esp;
};

/* Sockets for the outer packets. */
enum { OUT_ESP4, OUT_ESP6, OUT_UDP4, OUT_UDP6, OUT_AH4, OUT_AH6, OUT_N };

struct espd_tx {
	struct mmsghdr msg[ESPD_BATCH];
	struct iovec iov[ESPD_BATCH][2];
	struct sockaddr_storage to[ESPD_BATCH];
	uint8_t udp[ESPD_BATCH][8];
	union {
		char buf[64]; /* IPV6_PKTINFO (40) + UDP_SEGMENT (24) */
		struct cmsghdr align;
	} cmsg[ESPD_BATCH];
	unsigned n;
	/* own UDP 4500 sockets (-u, espd_net.c utx_queue): one message
	 * may carry a run of ESP packets of one SA as one UDP GSO send,
	 * each packet one iovec (iov taken as a flat array, niov used) */
	const struct espd_sa *sa[ESPD_BATCH];
	uint16_t gso[ESPD_BATCH];   /* segment size: the first packet's */
	uint8_t nseg[ESPD_BATCH];   /* packets in the message */
	uint32_t bytes[ESPD_BATCH]; /* their sum */
	bool closed[ESPD_BATCH];    /* a shorter packet ended the run */
	unsigned niov;
};

struct espd {
	struct ev_loop *loop;
	char tun_name[IFNAMSIZ];
	int tun_fd, tun_ifindex;
	unsigned mtu;
	int out_fd[OUT_N];
	/* -u: UDP 4500 sockets r2espd binds itself (no IKE daemon): they
	 * receive ESP-in-UDP (UDP_GRO) and send it (UDP_SEGMENT), instead
	 * of the raw UDP taps; -1 if not bound */
	int sink4, sink6;
	bool sink;
	bool udp_gso;	       /* UDP_SEGMENT sends (cleared if refused) */
	uint8_t *urx;	       /* ESPD_URX_N received (GRO) datagrams */
	struct espd_tx utx[2]; /* sends through sink4 / sink6 */
	/* With an IKE daemon: the ESP-in-UDP sockets it gave us
	 * (ESPM_UDP_SOCKS, espd_net.c espd_given): reuseport siblings of
	 * its NAT-T sockets, which the kernel hands ESP (non-zero SPI)
	 * while IKE and keepalives stay on the KMP's.  Received on like
	 * the -u sockets; sink4 / sink6 then point at the first of each
	 * family (its bound address in sink_src, af 0 = any).  Owned
	 * until client given_cli closes its connection or gives others. */
	int given[ESPM_UDP_SOCKS_MAX];
	unsigned ngiven;
	int given_cli; /* index in cli[], -1 if none */
	struct kaddr sink_src[2];
	/* descriptors that came with the control message being handled
	 * (client_cb); a request that keeps one sets it to -1 */
	int rx_fds[ESPM_UDP_SOCKS_MAX];
	unsigned rx_nfds;
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int ctl_fd;
	struct espd_client cli[ESPD_MAX_CLIENTS];

	struct espd_sa *sas;
	/* SAD indexes (lib/hidx.h): by SPI / CPI (inbound), by reqid
	 * (outbound, a policy template's SA) */
	struct hidx sa_spi, sa_reqid;
	uint64_t sa_seq, pol_seq;
	unsigned nsas, npols, nqueues; /* against ESPD_MAX_* */
	uint64_t sa_gen;
	struct espd_pol *pols;
	/* SPD indexes: by shape + selector, by index */
	struct espd_shape *shapes;
	struct hidx pol_sel, pol_idx;
	/* One-entry lookup caches of the packet path (espd_batch_begin):
	 * the outbound policy of the last flow, the inbound policy check
	 * of the last flow + SA chain, the last inbound SA.  Used only
	 * inside one batch of packets (no control request runs there) and
	 * cleared by every SPD or SAD change and every SA event. */
	struct espd_lcache {
		bool on, out_ok, in_ok, sa_ok;
		struct ksel out_flow, in_flow;
		struct espd_pol *out_pol, *in_pol;
		unsigned in_n;
		struct espd_sa *in_chain[KPOL_MAX_TMPL];
		uint8_t sa_proto;
		uint32_t sa_spi;
		struct kaddr sa_dst;
		struct espd_sa *sa;
	} lc;
	struct kpol_serials serials; /* owned policy indexes (kernel_priv.h) */
	void *nl; /* struct mnl_socket *; NULL in the privsep worker */
	uint32_t nl_seq;
	int priv_fd; /* worker: socketpair to the privileged parent, or -1 */

	struct espd_stats st;
	/* packet buffers, allocated once at start */
	uint8_t (*rx)[ESPD_SLOT];  /* ESPD_BATCH received packets */
	uint8_t (*txb)[ESPD_SLOT]; /* ESPD_BATCH encapsulated packets, each
				    * starting ESP_MAX_HDR - esp_hdr_len()
				    * into its slot */
	uint8_t *tunbuf;	   /* one (super-)packet read from TUN */
	uint8_t *dec;		   /* one decrypted packet (ESPD_SLOT) */
	uint8_t *dec2;		   /* bundles, input: the other of two
				    * buffers the transforms alternate
				    * between (ESPD_SLOT + AH_MAX_IPHDR: an
				    * IPv6 AH packet with its rebuilt
				    * header and extension headers) */
	uint8_t *xo;		   /* bundles, output: two ESPD_SLOT
				    * buffers, used in turn */
	uint16_t ah_ip_id;	   /* IPv4 Identification of AH packets */
	bool offload;		   /* IFF_VNET_HDR + TSO on TUN (-n: off) */
	struct off_gro gro;	   /* inbound coalescing, buf allocated */
	struct espd_tx tx[OUT_N];
	unsigned tx_slot;
};

/* espd.c */
uint64_t espd_now(void);
bool espd_addr_eq(const struct kaddr *a, const struct kaddr *b);
/* The policy of direction dir for flow: the lowest priority, then the
 * longest source + destination prefixes, then the newest (XFRM's
 * order); hashed (struct espd_shape), never a scan of the SPD. */
struct espd_pol *espd_spd_lookup(struct espd *d, enum kdir dir,
				 const struct ksel *flow);
/* The SAs of pol's templates for flow, innermost first: 0, or -ENOENT
 * with *missing the first required template that has no SA. */
int espd_bundle_out(struct espd *d, struct espd_pol *pol,
		    const struct ksel *flow, struct espd_bundle *b,
		    unsigned *missing);
/* A mature inbound SA of proto (ESP, AH, IPComp) by SPI/CPI and dst. */
struct espd_sa *espd_sa_in(struct espd *d, uint8_t proto, uint32_t spi,
			   const struct kaddr *dst);
/* RFC 4301 §5.2: the SAs that were applied to an inbound packet (chain,
 * outermost first) match the templates of an inbound policy for flow. */
bool espd_in_policy_ok(struct espd *d, struct espd_sa *const *chain, unsigned n,
		       const struct ksel *flow);
void espd_sa_events(struct espd *d, struct espd_sa *sa, unsigned events);
/* A batch of packets (a TUN or socket wakeup): the lookup caches (struct
 * espd_lcache) may answer between begin and end. */
void espd_batch_begin(struct espd *d);
void espd_batch_end(struct espd *d);
void espd_acquire(struct espd *d, struct espd_pol *pol, const struct ksel *flow,
		  unsigned tmpl);
void espd_mapping(struct espd *d, struct espd_sa *sa, const struct kaddr *addr,
		  uint16_t port);
void espd_broadcast(struct espd *d, const struct kevent *ev);
/* One control message (buf[n]) from client slot i: handled, answered on
 * d->cli[i].fd (the client is dropped if the answer cannot be sent). */
void espd_ctl_msg(struct espd *d, int i, const uint8_t *buf, size_t n);
/* Remove every policy (and its route) and every SA (wiped). */
void espd_state_free(struct espd *d);

/* espd_priv.c: privilege separation (see there) and route operations */
struct espd_privsep_opts {
	const char *user;	    /* NULL: SANDBOX_USER */
	const char *chroot_dir;	    /* NULL: none */
	int on_violation;	    /* enum sandbox_violation, -1: no seccomp */
	void (*cleanup)(void *arg); /* parent, at exit: socket, pid file */
	void *cleanup_arg;
};
/*
 * Fork: the parent keeps the netlink socket and serves route requests
 * until the worker exits, then cleans up and exits (never returns); the
 * worker enters the sandbox and returns 0.  Errors before the fork:
 * -errno (nothing changed).
 */
int espd_privsep(struct espd *d, const struct espd_privsep_opts *o);
/* Add or delete the route for s's destination prefix through the TUN
 * device: asks the parent (priv_fd), or does it on d->nl. */
int espd_rt_request(struct espd *d, bool add, bool transport,
		    const struct ksel *s);
/* The parent's check of one request (exposed for tests and fuzzing):
 * 0, or -EINVAL with *why set. */
int espd_rt_check(const uint8_t *buf, size_t len, void *out, const char **why);
/* Remove our routes (ESPD_RTPROT) through ifindex; returns how many. */
unsigned espd_purge_routes(void *nl, uint32_t *nl_seq, int ifindex);
/* Add (at start) or remove (at exit) the transport-mode policy rules. */
int espd_rules(void *nl, uint32_t *nl_seq, bool add);

/* espd_flow.c */
bool ksel_match_flow(const struct ksel *s, const struct ksel *flow);
bool kprefix_match(const struct kaddr *p, unsigned plen, const struct kaddr *a);

/* espd_net.c */
int espd_net_open(struct espd *d);
void espd_net_close(struct espd *d);
/* Parse an IP packet into a flow selector (host addresses, ports). */
int espd_flow(const uint8_t *pkt, size_t len, struct ksel *flow);
/* Apply a bundle to one inner packet and queue it for sending; flush
 * sends. */
int espd_output(struct espd *d, const struct espd_bundle *b, const uint8_t *pkt,
		size_t len);
void espd_tx_flush(struct espd *d);
/* ESPM_UDP_SOCKS from control client cli: take fds (n of them, each
 * checked: UDP, bound to port 4500) as the ESP-in-UDP sockets, replacing
 * those given before; on success they are ours (closed on release), on
 * failure still the caller's.  0 or -errno with a reason in why. */
int espd_given(struct espd *d, int cli, int *fds, unsigned n, char *why,
	       size_t whylen);
/* Close the given sockets, back to the raw UDP taps. */
void espd_given_release(struct espd *d);
int espd_route(struct espd *d, struct espd_pol *pol, bool add);
/* One datagram received on raw socket group g (OUT_*; IPv4: with the IP
 * header; IPv6: source in msg_name, destination in IPV6_PKTINFO). */
void espd_rx_one(struct espd *d, int g, struct msghdr *mh, const uint8_t *buf,
		 size_t len);
/* End of a receive batch: write what GRO holds to the TUN device. */
void espd_rx_flush(struct espd *d);
/* One read of n octets from the TUN device, in d->tunbuf. */
void espd_tun_packet(struct espd *d, size_t n);
#define ESPD_TUNBUF (OFF_VNET_LEN + 65536) /* d->tunbuf */
#define ESPD_GROBUF (OFF_VNET_LEN + 65535) /* d->gro.buf */
void espd_queue_flush(struct espd *d);

#endif
