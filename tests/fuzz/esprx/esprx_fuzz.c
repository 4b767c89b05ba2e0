/*
 * esprx_fuzz.c - libFuzzer harness for r2espd's receive path as the
 * daemon runs it (espd_net.c, espd.c): datagrams as the raw sockets
 * deliver them - raw ESP over IPv4 (with the IP header) and IPv6 (source
 * in msg_name, destination in IPV6_PKTINFO), ESP-in-UDP from the 4500 tap
 * (IPv4 and IPv6) - through SPI lookup, decryption, anti-replay, the
 * inbound policy check, GRO coalescing and the write to TUN; and reads
 * from the TUN device (with and without the virtio-net header; TSO, USO)
 * through the SPD lookup, the queue of packets waiting for an SA,
 * ACQUIRE, encryption and the outbound batch.
 *
 * State is rebuilt for every input: a fixed set of SAs and policies is
 * installed through the control path (espd_ctl_msg, as spmd and iked
 * do) and freed (wiped) afterwards, counters, batches and the coalescing
 * buffer start empty.  The TUN device is /dev/null, the raw sockets are
 * -1 (sends fail and are counted: the packets are built and encrypted
 * first); no routes (no netlink socket).
 *
 * Input: records, each u8 kind, u16 length (big endian), payload:
 *   kind % 8 == 0  raw ESP, IPv4: payload is the whole IPv4 datagram
 *            1     ESP-in-UDP, IPv4: the whole IPv4 datagram
 *            2     raw ESP, IPv6: 16 octets source, 16 destination, ESP
 *            3     ESP-in-UDP, IPv6: source, destination, UDP + ESP
 *            4     one TUN read (offloads per the first input octet)
 *            5     a valid ESP packet: u8 SA index, u32 sequence number,
 *                  then the inner packet, encrypted with the peer's copy
 *                  of that SA and received as kind 0/1/2/3 would be
 *            6     end of a batch: flush TX and the coalescing buffer
 *            7     lifetime tick (u8 seconds forward)
 *   kind % 16 == 8  raw AH, IPv6: 16 octets source, 16 destination, AH
 *                   (the IPv4 AH socket is kind 0 with protocol 51)
 *            9     a valid AH packet (issue 16): u8 AH SA index (IPv4
 *                  tunnel, IPv6 tunnel, or the IPv4 ESP+AH bundle), u32
 *                  sequence number, the inner packet
 *            10    a valid IPComp bundle packet (issue 16): u8 index
 *                  (0: ESP+IPComp IPv4 tunnel, reqid 10; 1: AH+IPComp
 *                  IPv6 tunnel, reqid 11; 2: reqid 10's ESP around an
 *                  IPComp header for CPI 0x400 followed by the input as
 *                  it is - DEFLATE errors, bombs; 3: reqid 10's ESP
 *                  around the IPComp SA 0x404 that no policy names),
 *                  u32 sequence number, the inner packet (compressed by
 *                  the peer's IPComp SA, or sent as is when too small or
 *                  incompressible, RFC 3173 §2.2)
 *            11    raw AH, IPv6, with extension headers as ancillary
 *                  data (ah6_rebuild): 16 octets source, 16 destination,
 *                  u8 n, n times (u8 type % 3: hop-by-hop, destination
 *                  options, routing; u8 length; header), AH
 *   other kinds % 16 >= 8 act as kind % 8.
 * Kind 9 index 3 is the IPv6 AH SA of index 1 with hop-by-hop and
 * destination options headers in front of AH.
 * The first input octet chooses offloads (bit 0) before the records.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/userspace/ah.h"
#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"
#include "kernel/userspace/ipcomp.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/rd.h"
#include "lib/wr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct espd d;
static int ctl[2] = {-1, -1};

/* The SAs: inbound (dst = us) and outbound, all tunnel mode. */
struct sa_def {
	uint32_t spi;
	bool v6, in, encap, esn;
	uint16_t encr, bits, integ, klen, alen;
	uint32_t reqid;
};

static const struct sa_def sas[] = {
    {0x100, false, true, false, false, IKEV2_ENCR_AES_GCM_16, 128, 0, 20, 0, 1},
    {0x101, false, true, true, true, IKEV2_ENCR_CHACHA20_POLY1305, 256, 0, 36,
     0, 2},
    {0x102, false, true, false, true, IKEV2_ENCR_AES_CBC, 128,
     IKEV2_INTEG_HMAC_SHA1_96, 16, 20, 3},
    {0x103, true, true, false, false, IKEV2_ENCR_NULL, 0,
     IKEV2_INTEG_HMAC_SHA2_256_128, 0, 32, 4},
    {0x104, true, true, true, false, IKEV2_ENCR_AES_GCM_16, 256, 0, 36, 0, 5},
    {0x200, false, false, false, false, IKEV2_ENCR_AES_GCM_16, 128, 0, 20, 0,
     1},
    {0x201, false, false, true, true, IKEV2_ENCR_CHACHA20_POLY1305, 256, 0, 36,
     0, 2},
    {0x203, true, false, false, false, IKEV2_ENCR_NULL, 0,
     IKEV2_INTEG_HMAC_SHA2_256_128, 0, 32, 4},
};
#define NSA (sizeof(sas) / sizeof(sas[0]))
#define NIN 5 /* the first NIN are inbound */

/* The peer's copy of each inbound SA, to make valid packets. */
static struct esp_sa peer[NIN];

/*
 * AH (issue 16): SAs as {proto, spi, v6, in, integ, reqid}; policies of
 * their own (reqid 6: IPv4 AH tunnel 198.51.100.128/26 <-> .192/26,
 * reqid 7: IPv6 AH tunnel 2001:db8:e::/48 <-> 2001:db8:f::/48, reqid 8:
 * the bundle ESP (inner) + AH, 198.51.100.64/27 <-> .96/27).  The first
 * NAHIN are inbound; ah_peer holds the peer's copies.
 */
struct ah_def {
	uint8_t proto;
	uint32_t spi;
	bool v6, in;
	uint16_t integ;
	uint32_t reqid;
};
static const struct ah_def ahs[] = {
    {IPPROTO_AH, 0x300, false, true, IKEV2_INTEG_HMAC_SHA2_256_128, 6},
    {IPPROTO_AH, 0x301, true, true, IKEV2_INTEG_HMAC_SHA1_96, 7},
    {IPPROTO_AH, 0x302, false, true, IKEV2_INTEG_HMAC_SHA2_512_256, 8},
    {IPPROTO_ESP, 0x303, false, true, IKEV2_INTEG_HMAC_SHA2_256_128, 8},
    {IPPROTO_AH, 0x310, false, false, IKEV2_INTEG_HMAC_SHA2_256_128, 6},
    {IPPROTO_AH, 0x311, true, false, IKEV2_INTEG_HMAC_SHA1_96, 7},
    {IPPROTO_AH, 0x312, false, false, IKEV2_INTEG_HMAC_SHA2_512_256, 8},
    {IPPROTO_ESP, 0x313, false, false, IKEV2_INTEG_HMAC_SHA2_256_128, 8},
};
#define NAH   (sizeof(ahs) / sizeof(ahs[0]))
#define NAHIN 4
static struct esp_sa ah_peer[NAHIN];

/*
 * IPComp (issue 16): {proto, spi/CPI, v6, in, integ, reqid} as ahs[];
 * reqid 10: ESP (outer) + IPComp IPv4 tunnel 198.51.100.32/28 <->
 * .48/28; reqid 11: AH + IPComp IPv6 tunnel 2001:db8:c0::/48 <->
 * 2001:db8:c1::/48; CPI 0x404: an IPComp SA no policy names.  IPComp
 * templates have level "use".  The first NIPCIN are inbound.
 */
static const struct ah_def ipcs[] = {
    {IPPROTO_COMP, 0x400, false, true, 0, 10},
    {IPPROTO_ESP, 0x401, false, true, IKEV2_INTEG_HMAC_SHA2_256_128, 10},
    {IPPROTO_COMP, 0x402, true, true, 0, 11},
    {IPPROTO_AH, 0x403, true, true, IKEV2_INTEG_HMAC_SHA2_256_128, 11},
    {IPPROTO_COMP, 0x404, false, true, 0, 12},
    {IPPROTO_COMP, 0x410, false, false, 0, 10},
    {IPPROTO_ESP, 0x411, false, false, IKEV2_INTEG_HMAC_SHA2_256_128, 10},
    {IPPROTO_COMP, 0x412, true, false, 0, 11},
    {IPPROTO_AH, 0x413, true, false, IKEV2_INTEG_HMAC_SHA2_256_128, 11},
};
#define NIPC   (sizeof(ipcs) / sizeof(ipcs[0]))
#define NIPCIN 5
static struct esp_sa ipc_peer[NIPCIN];

static void addr(struct kaddr *a, bool v6, int host)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		a->af = AF_INET6;
		inet_pton(AF_INET6,
			  host == 1 ? "2001:db8:1::1" : "2001:db8:1::2",
			  a->u.b);
	} else {
		a->af = AF_INET;
		inet_pton(AF_INET, host == 1 ? "198.51.100.1" : "198.51.100.2",
			  a->u.b);
	}
}

static void make_ksa(const struct sa_def *s, struct ksa *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_ESP;
	k->spi = s->spi;
	k->mode = KMODE_TUNNEL;
	k->reqid = s->reqid;
	/* we are host 2: inbound from 1 to 2, outbound from 2 to 1 */
	addr(&k->src, s->v6, s->in ? 1 : 2);
	addr(&k->dst, s->v6, s->in ? 2 : 1);
	k->encr_id = s->encr;
	k->encr_keybits = s->bits;
	k->integ_id = s->integ;
	k->enc_key_len = s->klen;
	for (unsigned i = 0; i < s->klen; i++)
		k->enc_key[i] = (uint8_t)(s->spi + i);
	k->auth_key_len = s->alen;
	for (unsigned i = 0; i < s->alen; i++)
		k->auth_key[i] = (uint8_t)(0x40 + i);
	k->esn = s->esn;
	k->replay_window = 64;
	if (s->encap) {
		k->encap.enabled = true;
		k->encap.sport = 4500;
		k->encap.dport = 4500;
	}
}

static void make_ah_ksa(const struct ah_def *s, struct ksa *k)
{
	static const uint8_t klen[] = {
	    [IKEV2_INTEG_HMAC_SHA1_96] = 20,
	    [IKEV2_INTEG_HMAC_SHA2_256_128] = 32,
	    [IKEV2_INTEG_HMAC_SHA2_512_256] = 64,
	};

	memset(k, 0, sizeof(*k));
	k->proto = s->proto;
	k->spi = s->spi;
	k->mode = KMODE_TUNNEL;
	k->reqid = s->reqid;
	addr(&k->src, s->v6, s->in ? 1 : 2);
	addr(&k->dst, s->v6, s->in ? 2 : 1);
	if (s->proto == IPPROTO_COMP) {
		k->comp_id = IKEV2_IPCOMP_DEFLATE;
		return;
	}
	k->integ_id = s->integ;
	k->auth_key_len = klen[s->integ];
	for (unsigned i = 0; i < k->auth_key_len; i++)
		k->auth_key[i] = (uint8_t)(s->spi + i);
	if (s->proto == IPPROTO_ESP) {
		k->encr_id = IKEV2_ENCR_AES_CBC;
		k->encr_keybits = 128;
		k->enc_key_len = 16;
		for (unsigned i = 0; i < 16; i++)
			k->enc_key[i] = (uint8_t)(0x80 + i);
	}
	k->replay_window = 64;
}

static void ctl_send(uint16_t type, struct wr *body)
{
	struct espm_hdr h = {.type = type, .seq = 1};
	uint8_t buf[ESPM_MAX + 1];
	struct wr w;

	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	wr_bytes(&w, body->buf, body->len);
	if (!wr_error(&w))
		espd_ctl_msg(&d, 0, w.buf, w.len);
	wr_free(&w);
	while (recv(ctl[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void prefix(struct kaddr *a, bool v6, const char *s4, const char *s6)
{
	memset(a, 0, sizeof(*a));
	a->af = v6 ? AF_INET6 : AF_INET;
	inet_pton(a->af, v6 ? s6 : s4, a->u.b);
}

/* policies: remote 203.0.113.0/25 (2001:db8:a::/48) <-> local
 * 203.0.113.128/25 (2001:db8:b::/48) per reqid 1..5; one outbound
 * policy without SA (ACQUIRE) and a discard one */
static void add_pol_t(struct wr *w, enum kdir dir, bool v6, uint32_t reqid,
		      enum kaction act, const char *r4, const char *l4,
		      const char *r6, const char *l6, const uint8_t *tmpl,
		      unsigned plen);

static void add_pol(struct wr *w, enum kdir dir, bool v6, uint32_t reqid,
		    enum kaction act, const char *r4, const char *l4,
		    const char *r6, const char *l6)
{
	static const uint8_t esp[] = {IPPROTO_ESP, 0};

	add_pol_t(w, dir, v6, reqid, act, r4, l4, r6, l6, esp,
		  v6 ? 48 - (reqid == 5)
		     : 25 - (reqid == 2) - 2 * (reqid == 3));
}

/* tmpl: protocols innermost first, 0-terminated; plen of both prefixes */
static void add_pol_t(struct wr *w, enum kdir dir, bool v6, uint32_t reqid,
		      enum kaction act, const char *r4, const char *l4,
		      const char *r6, const char *l6, const uint8_t *tmpl,
		      unsigned plen)
{
	struct kpolicy p;
	bool out = dir == KDIR_OUT;

	memset(&p, 0, sizeof(p));
	p.sel.af = v6 ? AF_INET6 : AF_INET;
	prefix(&p.sel.src, v6, out ? l4 : r4, out ? l6 : r6);
	prefix(&p.sel.dst, v6, out ? r4 : l4, out ? r6 : l6);
	p.sel.src_plen = p.sel.dst_plen = (uint8_t)plen;
	p.sel.proto = 0;
	p.dir = dir;
	p.action = act;
	p.priority = 1000;
	if (act == KPOL_IPSEC) {
		for (p.ntmpl = 0; tmpl[p.ntmpl]; p.ntmpl++) {
			p.tmpl[p.ntmpl].proto = tmpl[p.ntmpl];
			p.tmpl[p.ntmpl].mode = KMODE_TRANSPORT;
			p.tmpl[p.ntmpl].reqid = reqid;
			/* RFC 3173 §2.1: IPComp may be left out */
			if (tmpl[p.ntmpl] == IPPROTO_COMP)
				p.tmpl[p.ntmpl].level = KLEVEL_USE;
		}
		p.tmpl[0].mode = KMODE_TUNNEL;
		addr(&p.tmpl[0].src, v6, out ? 2 : 1);
		addr(&p.tmpl[0].dst, v6, out ? 1 : 2);
	}
	wr_reset(w);
	espm_put_kpolicy(w, &p);
	ctl_send(ESPM_POL_ADD, w);
}

static void setup(void)
{
	struct wr w;

	wr_init(&w, ESPM_MAX);
	for (size_t i = 0; i < NSA; i++) {
		struct ksa k;

		make_ksa(&sas[i], &k);
		wr_reset(&w);
		espm_put_ksa(&w, &k, true);
		ctl_send(ESPM_SA_ADD, &w);
		if (i < NIN && esp_sa_init(&peer[i], &k, 1, NULL, 0) != 0)
			abort();
	}
	/* reqid 1-3: IPv4 pairs; 4-5: IPv6 */
	add_pol(&w, KDIR_IN, false, 1, KPOL_IPSEC, "203.0.113.0",
		"203.0.113.128", NULL, NULL);
	add_pol(&w, KDIR_OUT, false, 1, KPOL_IPSEC, "203.0.113.0",
		"203.0.113.128", NULL, NULL);
	/* reqid 2 and 3: inbound only, wider selectors (/24, /23) */
	add_pol(&w, KDIR_IN, false, 2, KPOL_IPSEC, "203.0.113.0", "203.0.113.0",
		NULL, NULL);
	add_pol(&w, KDIR_IN, false, 3, KPOL_IPSEC, "203.0.112.0", "203.0.112.0",
		NULL, NULL);
	add_pol(&w, KDIR_IN, true, 5, KPOL_IPSEC, NULL, NULL,
		"2001:db8:a::", "2001:db8:b::");
	add_pol(&w, KDIR_IN, true, 4, KPOL_IPSEC, NULL, NULL,
		"2001:db8:a::", "2001:db8:b::");
	add_pol(&w, KDIR_OUT, true, 4, KPOL_IPSEC, NULL, NULL,
		"2001:db8:a::", "2001:db8:b::");
	/* no SA for reqid 9: queue + ACQUIRE */
	add_pol(&w, KDIR_OUT, false, 9, KPOL_IPSEC, "192.0.2.0",
		"203.0.113.128", NULL, NULL);
	add_pol(&w, KDIR_OUT, true, 0, KPOL_DISCARD, NULL, NULL,
		"2001:db8:c::", "2001:db8:b::");
	for (size_t i = 0; i < NAH; i++) {
		struct ksa k;

		make_ah_ksa(&ahs[i], &k);
		wr_reset(&w);
		espm_put_ksa(&w, &k, true);
		ctl_send(ESPM_SA_ADD, &w);
		if (i < NAHIN && esp_sa_init(&ah_peer[i], &k, 1, NULL, 0) != 0)
			abort();
	}
	{
		static const uint8_t ah[] = {IPPROTO_AH, 0};
		static const uint8_t esp_ah[] = {IPPROTO_ESP, IPPROTO_AH, 0};
		for (int dir = KDIR_IN; dir <= KDIR_OUT; dir++) {
			add_pol_t(&w, (enum kdir)dir, false, 6, KPOL_IPSEC,
				  "198.51.100.128", "198.51.100.192", NULL,
				  NULL, ah, 26);
			add_pol_t(&w, (enum kdir)dir, true, 7, KPOL_IPSEC, NULL,
				  NULL, "2001:db8:e::", "2001:db8:f::", ah, 48);
			add_pol_t(&w, (enum kdir)dir, false, 8, KPOL_IPSEC,
				  "198.51.100.64", "198.51.100.96", NULL, NULL,
				  esp_ah, 27);
		}
	}
	for (size_t i = 0; i < NIPC; i++) {
		struct ksa k;
		int rc;

		make_ah_ksa(&ipcs[i], &k);
		wr_reset(&w);
		espm_put_ksa(&w, &k, true);
		ctl_send(ESPM_SA_ADD, &w);
		if (i >= NIPCIN)
			continue;
		rc = ipcs[i].proto == IPPROTO_COMP
			 ? ipcomp_sa_init(&ipc_peer[i], &k, 1, NULL, 0)
			 : esp_sa_init(&ipc_peer[i], &k, 1, NULL, 0);
		if (rc != 0)
			abort();
	}
	{
		static const uint8_t esp_comp[] = {IPPROTO_COMP, IPPROTO_ESP,
						   0};
		static const uint8_t ah_comp[] = {IPPROTO_COMP, IPPROTO_AH, 0};
		static const uint8_t comp[] = {IPPROTO_COMP, 0};
		for (int dir = KDIR_IN; dir <= KDIR_OUT; dir++) {
			add_pol_t(&w, (enum kdir)dir, false, 10, KPOL_IPSEC,
				  "198.51.100.32", "198.51.100.48", NULL, NULL,
				  esp_comp, 28);
			add_pol_t(&w, (enum kdir)dir, true, 11, KPOL_IPSEC,
				  NULL, NULL,
				  "2001:db8:c0::", "2001:db8:c1::", ah_comp,
				  48);
		}
		/* IPComp alone: refused (no outer ESP or AH to send it) */
		add_pol_t(&w, KDIR_OUT, false, 12, KPOL_IPSEC, "198.51.100.16",
			  "198.51.100.24", NULL, NULL, comp, 29);
	}
	wr_free(&w);
}

static void teardown(void)
{
	espd_tx_flush(&d);
	espd_rx_flush(&d);
	if (getenv("ESPRX_FUZZ_VERBOSE"))
		fprintf(stderr,
			"esp_rx %llu decap_fail %llu unknown_spi %llu "
			"policy_drop %llu tun_tx %llu tun_gro %llu tun_rx %llu "
			"send_fail %llu queued %llu acquires %llu "
			"malformed %llu\n",
			(unsigned long long)d.st.esp_rx,
			(unsigned long long)d.st.decap_fail,
			(unsigned long long)d.st.unknown_spi,
			(unsigned long long)d.st.policy_drop,
			(unsigned long long)d.st.tun_tx,
			(unsigned long long)d.st.tun_gro,
			(unsigned long long)d.st.tun_rx,
			(unsigned long long)d.st.send_fail,
			(unsigned long long)d.st.queued,
			(unsigned long long)d.st.acquires,
			(unsigned long long)d.st.malformed);
	espd_state_free(&d);
	for (size_t i = 0; i < NIN; i++)
		esp_sa_free(&peer[i]);
	for (size_t i = 0; i < NAHIN; i++)
		esp_sa_free(&ah_peer[i]);
	for (size_t i = 0; i < NIPCIN; i++) {
		if (ipcs[i].proto == IPPROTO_COMP)
			ipcomp_sa_free(&ipc_peer[i]);
		esp_sa_free(&ipc_peer[i]);
	}
}

static void once(void)
{
	int null;

	log_init("fuzz", LOG_TO_STDERR,
		 getenv("ESPRX_FUZZ_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	d.loop = ev_new();
	d.rx = calloc(ESPD_BATCH, ESPD_SLOT);
	d.txb = calloc(ESPD_BATCH, ESPD_SLOT);
	d.tunbuf = malloc(ESPD_TUNBUF);
	d.dec = malloc(ESPD_SLOT);
	d.dec2 = malloc(ESPD_SLOT + AH_MAX_IPHDR);
	d.xo = malloc(2 * ESPD_SLOT);
	d.gro.buf = malloc(ESPD_GROBUF);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!d.loop || !d.rx || !d.txb || !d.tunbuf || !d.dec || !d.dec2 ||
	    !d.xo || !d.gro.buf || null < 0)
		abort();
	d.tun_fd = null;
}

/* A datagram as raw socket group g delivers it. */
/* Extension headers handed over as ancillary data with the next rx()
 * (IPv6 AH): cmsg type and contents, as the kernel reports them. */
static struct {
	unsigned n;
	int type[4];
	size_t len[4];
	uint8_t b[4][256];
} xh;

static void rx(int g, const uint8_t *p, size_t n, const struct kaddr *src6,
	       const struct kaddr *dst6)
{
	struct sockaddr_in6 from = {.sin6_family = AF_INET6};
	union {
		char buf[64 + 4 * (256 + 64)];
		struct cmsghdr align;
	} cm;
	struct msghdr mh = {0};

	if (n > ESPD_SLOT)
		n = ESPD_SLOT;
	memcpy(d.rx[0], p, n);
	if (g == OUT_ESP6 || g == OUT_UDP6 || g == OUT_AH6) {
		struct cmsghdr *c = (struct cmsghdr *)cm.buf;
		struct in6_pktinfo pi = {0};

		memcpy(&from.sin6_addr, src6->u.b, 16);
		memcpy(&pi.ipi6_addr, dst6->u.b, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		for (unsigned i = 0; g == OUT_AH6 && i < xh.n; i++) {
			c = (struct cmsghdr *)(cm.buf + mh.msg_controllen);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = xh.type[i];
			c->cmsg_len = CMSG_LEN(xh.len[i]);
			memcpy(CMSG_DATA(c), xh.b[i], xh.len[i]);
			mh.msg_controllen += CMSG_SPACE(xh.len[i]);
		}
	}
	xh.n = 0;
	espd_rx_one(&d, g, &mh, d.rx[0], n);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* kind 5: a packet that passes the ICV (unless replayed) */
static void valid(const uint8_t *p, size_t n)
{
	static uint8_t pkt[ESPD_SLOT + 64];
	struct rd r = rd_init(p, n);
	uint8_t idx, nh;
	uint32_t seq;
	size_t h, olen;
	unsigned ev;
	struct esp_sa *sa;
	const struct sa_def *s;

	if (rd_u8(&r, &idx) < 0 || rd_u32(&r, &seq) < 0)
		return;
	s = &sas[idx % NIN];
	sa = &peer[idx % NIN];
	/* keep the upper half when it is there (ESN) */
	sa->seq_out = (sa->seq_out & ~(uint64_t)UINT32_MAX) | seq;
	h = s->v6 ? 0 : 20;
	if (s->encap && !s->v6)
		h += 8;
	if (rd_left(&r) > 1400)
		return;
	nh = rd_left(&r) && (r.p[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	if (esp_encap(sa, r.p, rd_left(&r), nh, pkt + h, sizeof(pkt) - h, &olen,
		      2, &ev) != 0)
		return;
	if (!s->v6) {
		/* IPv4 header (only what rx_one reads: version/IHL, addresses)
		 * and, for ESP-in-UDP, the UDP header to 4500 */
		memset(pkt, 0, 20);
		pkt[0] = 0x45;
		pkt[9] = s->encap ? IPPROTO_UDP : IPPROTO_ESP;
		inet_pton(AF_INET, "198.51.100.1", pkt + 12);
		inet_pton(AF_INET, "198.51.100.2", pkt + 16);
		if (s->encap) {
			put16(pkt + 20, 4500);
			put16(pkt + 22, 4500);
			put16(pkt + 24, (uint16_t)(olen + 8));
			put16(pkt + 26, 0);
		}
		rx(s->encap ? OUT_UDP4 : OUT_ESP4, pkt, h + olen, NULL, NULL);
	} else {
		struct kaddr a, b;

		addr(&a, true, 1);
		addr(&b, true, 2);
		if (s->encap) {
			memmove(pkt + 8, pkt, olen);
			put16(pkt, 4500);
			put16(pkt + 2, 4500);
			put16(pkt + 4, (uint16_t)(olen + 8));
			put16(pkt + 6, 0);
			olen += 8;
		}
		rx(s->encap ? OUT_UDP6 : OUT_ESP6, pkt, olen, &a, &b);
	}
}

/* kind 9: an AH packet that passes the ICV (unless replayed): index 0
 * IPv4 AH, 1 IPv6 AH, 2 the ESP+AH bundle (ESP inside, same sequence
 * number for both) */
static void valid_ah(const uint8_t *p, size_t n)
{
	static uint8_t pkt[ESPD_SLOT + 128], esp[ESPD_SLOT + 64];
	struct rd r = rd_init(p, n);
	const uint8_t *pay;
	uint8_t idx, nh;
	uint32_t seq;
	size_t hl, al, plen, tot;
	unsigned ev;
	struct esp_sa *sa;
	bool v6;

	static const uint8_t ext[24] = {
	    60,	  0, 0x3e, 4, 0xde, 0xad, 0xbe, 0xef, /* hop-by-hop */
	    51,	  1, 0x1e, 4, 1,    2,	  3,	4,    /* destination */
	    0x3e, 2, 9,	   9, 1,    0,	  0,	0,    /* options */
	};
	bool x;

	if (rd_u8(&r, &idx) < 0 || rd_u32(&r, &seq) < 0 || rd_left(&r) > 1400)
		return;
	idx %= 4;
	/* 3: index 1 with extension headers in front of AH */
	x = idx == 3;
	if (x)
		idx = 1;
	v6 = idx == 1;
	sa = &ah_peer[idx];
	sa->seq_out = seq;
	pay = r.p;
	plen = rd_left(&r);
	nh = plen && (r.p[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	if (idx == 2) {
		ah_peer[3].seq_out = seq;
		if (esp_encap(&ah_peer[3], r.p, plen, nh, esp, sizeof(esp),
			      &plen, 2, &ev) != 0)
			return;
		pay = esp;
		nh = IPPROTO_ESP;
	}
	hl = v6 ? 40 + (x ? sizeof(ext) : 0) : 20;
	al = ah_hdr_len(sa, v6 ? AF_INET6 : AF_INET);
	tot = hl + al + plen;
	memset(pkt, 0, hl);
	memcpy(pkt + hl + al, pay, plen);
	if (!v6) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(tot >> 8);
		pkt[3] = (uint8_t)tot;
		pkt[8] = 64;
		pkt[9] = IPPROTO_AH;
		inet_pton(AF_INET, "198.51.100.1", pkt + 12);
		inet_pton(AF_INET, "198.51.100.2", pkt + 16);
	} else {
		pkt[0] = 0x60;
		put16(pkt + 4, (uint16_t)(tot - 40));
		pkt[6] = x ? 0 : IPPROTO_AH;
		pkt[7] = 64;
		inet_pton(AF_INET6, "2001:db8:1::1", pkt + 8);
		inet_pton(AF_INET6, "2001:db8:1::2", pkt + 24);
		if (x)
			memcpy(pkt + 40, ext, sizeof(ext));
	}
	if (ah_encap(sa, pkt, tot, hl, nh, 2, &ev) != 0)
		return;
	if (!v6) {
		rx(OUT_AH4, pkt, tot, NULL, NULL);
	} else {
		struct kaddr a, b;

		addr(&a, true, 1);
		addr(&b, true, 2);
		if (x) {
			xh.n = 2;
			xh.type[0] = IPV6_HOPOPTS;
			xh.len[0] = 8;
			memcpy(xh.b[0], ext, 8);
			xh.type[1] = IPV6_DSTOPTS;
			xh.len[1] = 16;
			memcpy(xh.b[1], ext + 8, 16);
		}
		rx(OUT_AH6, pkt + hl, tot - hl, &a, &b);
	}
}

/* kind 10: IPComp inside ESP (IPv4) or AH (IPv6), valid unless replayed
 * or (index 2) the DEFLATE data is the input's */
static void valid_comp(const uint8_t *p, size_t n)
{
	static uint8_t pkt[ESPD_SLOT + 128], comp[ESPD_SLOT + 64];
	struct rd r = rd_init(p, n);
	const uint8_t *pay;
	uint8_t idx, nh;
	uint32_t seq;
	size_t plen, clen = 0, olen, al, tot;
	unsigned ev;
	struct esp_sa *outer;
	int rc;

	if (rd_u8(&r, &idx) < 0 || rd_u32(&r, &seq) < 0 || rd_left(&r) > 1400)
		return;
	idx %= 4;
	pay = r.p;
	plen = rd_left(&r);
	nh = plen && (r.p[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	if (idx == 2) {
		/* RFC 3173 §2.2: next header, flags, CPI; then the input */
		comp[0] = nh;
		comp[1] = 0;
		put16(comp + 2, 0x400);
		memcpy(comp + 4, pay, plen);
		clen = plen + 4;
		rc = 0;
	} else {
		rc = ipcomp_out(&ipc_peer[idx == 0   ? 0
					  : idx == 1 ? 2
						     : 4],
				pay, plen, nh, comp, sizeof(comp), &clen, 2,
				&ev);
		if (rc < 0)
			return;
	}
	if (rc == 0) { /* compressed: IPComp header inside */
		pay = comp;
		plen = clen;
		nh = IPPROTO_COMP;
	}
	if (idx != 1) {
		outer = &ipc_peer[1];
		outer->seq_out = seq;
		if (esp_encap(outer, pay, plen, nh, pkt + 20, sizeof(pkt) - 20,
			      &olen, 2, &ev) != 0)
			return;
		memset(pkt, 0, 20);
		pkt[0] = 0x45;
		pkt[9] = IPPROTO_ESP;
		inet_pton(AF_INET, "198.51.100.1", pkt + 12);
		inet_pton(AF_INET, "198.51.100.2", pkt + 16);
		rx(OUT_ESP4, pkt, 20 + olen, NULL, NULL);
	} else {
		struct kaddr a, b;

		outer = &ipc_peer[3];
		outer->seq_out = seq;
		al = ah_hdr_len(outer, AF_INET6);
		tot = 40 + al + plen;
		memset(pkt, 0, 40);
		memcpy(pkt + 40 + al, pay, plen);
		pkt[0] = 0x60;
		put16(pkt + 4, (uint16_t)(tot - 40));
		pkt[6] = IPPROTO_AH;
		pkt[7] = 64;
		inet_pton(AF_INET6, "2001:db8:1::1", pkt + 8);
		inet_pton(AF_INET6, "2001:db8:1::2", pkt + 24);
		if (ah_encap(outer, pkt, tot, 40, nh, 2, &ev) != 0)
			return;
		addr(&a, true, 1);
		addr(&b, true, 2);
		rx(OUT_AH6, pkt + 40, tot - 40, &a, &b);
	}
}

/* kind 11: raw IPv6 AH with extension headers in ancillary data */
static void raw_ah6_ext(const uint8_t *p, size_t n)
{
	static const int types[3] = {IPV6_HOPOPTS, IPV6_DSTOPTS, IPV6_RTHDR};
	struct rd r = rd_init(p, n);
	struct kaddr a = {.af = AF_INET6}, b = {.af = AF_INET6};
	uint8_t cnt, t, l;
	const uint8_t *h;

	if (rd_bytes(&r, a.u.b, 16) < 0 || rd_bytes(&r, b.u.b, 16) < 0 ||
	    rd_u8(&r, &cnt) < 0)
		return;
	xh.n = 0;
	for (unsigned i = 0; i < cnt % 5 && xh.n < 4; i++) {
		if (rd_u8(&r, &t) < 0 || rd_u8(&r, &l) < 0 ||
		    rd_ptr(&r, l, &h) < 0)
			break;
		xh.type[xh.n] = types[t % 3];
		xh.len[xh.n] = l;
		memcpy(xh.b[xh.n], h, l);
		xh.n++;
	}
	rx(OUT_AH6, r.p, rd_left(&r), &a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = rd_init(data, size);
	uint8_t opts;

	if (!d.loop)
		once();
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		abort();
	d.cli[0].fd = ctl[0];
	d.ctl_fd = -1;
	d.priv_fd = -1;
	d.nl = NULL;
	d.sink4 = d.sink6 = -1;
	for (int g = 0; g < OUT_N; g++) {
		d.out_fd[g] = -1;
		d.tx[g].n = 0;
	}
	d.tx_slot = 0;
	memset(&d.st, 0, sizeof(d.st));
	opts = size ? data[0] : 0;
	d.offload = (opts & 1) != 0;
	off_gro_init(&d.gro, d.gro.buf, ESPD_GROBUF);
	setup();
	if (size)
		rd_skip(&r, 1);
	for (;;) {
		uint8_t kind;
		uint16_t len;
		const uint8_t *p;
		struct kaddr a, b;

		if (rd_u8(&r, &kind) < 0 || rd_u16(&r, &len) < 0)
			break;
		if (rd_ptr(&r, len, &p) < 0) {
			len = (uint16_t)rd_left(&r);
			if (rd_ptr(&r, len, &p) < 0)
				break;
		}
		if (kind % 16 == 8) {
			if (len < 32)
				continue;
			a.af = b.af = AF_INET6;
			memcpy(a.u.b, p, 16);
			memcpy(b.u.b, p + 16, 16);
			rx(OUT_AH6, p + 32, len - 32u, &a, &b);
			continue;
		}
		if (kind % 16 == 9) {
			valid_ah(p, len);
			continue;
		}
		if (kind % 16 == 10) {
			valid_comp(p, len);
			continue;
		}
		if (kind % 16 == 11) {
			raw_ah6_ext(p, len);
			continue;
		}
		switch (kind % 8) {
		case 0:
		case 1:
			/* the IPv4 AH socket delivers protocol 51 */
			rx(kind % 8 == 1		   ? OUT_UDP4
			   : len > 9 && p[9] == IPPROTO_AH ? OUT_AH4
							   : OUT_ESP4,
			   p, len, NULL, NULL);
			break;
		case 2:
		case 3:
			if (len < 32)
				break;
			a.af = b.af = AF_INET6;
			memcpy(a.u.b, p, 16);
			memcpy(b.u.b, p + 16, 16);
			rx(kind % 8 == 2 ? OUT_ESP6 : OUT_UDP6, p + 32,
			   len - 32u, &a, &b);
			break;
		case 4:
			memcpy(d.tunbuf, p, len);
			espd_tun_packet(&d, len);
			break;
		case 5:
			valid(p, len);
			break;
		case 6:
			espd_tx_flush(&d);
			espd_rx_flush(&d);
			break;
		default:
			for (struct espd_sa *s = d.sas, *next; s; s = next) {
				next = s->next;
				if (!s->larval)
					espd_sa_events(
					    &d, s,
					    esp_sa_tick(&s->esp,
							espd_now() +
							    (len ? p[0] : 0)));
			}
			break;
		}
	}
	teardown();
	close(ctl[0]);
	close(ctl[1]);
	d.cli[0].fd = -1;
	return 0;
}
