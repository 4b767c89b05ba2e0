/*
 * espd_net.c - r2espd's packet path: the TUN device, raw IPPROTO_ESP and
 * IPPROTO_UDP sockets (ESP-in-UDP tap on port 4500, see espd.h for why),
 * outbound batching with sendmmsg, inbound batching with recvmmsg, and
 * the routes that send the remote traffic selectors into the TUN device.
 *
 * The TUN device carries a virtio-net header (IFF_VNET_HDR, offloads in
 * espd_off.c) unless r2espd runs with -n.  At start, routes a previous
 * r2espd left on a persistent TUN device are removed.
 *
 * Received packets are parsed only through struct rd.  Buffers are
 * allocated once at start (struct espd rx/txb/tunbuf/dec and the
 * coalescing buffer); the per-policy queue waiting for an SA is
 * allocated the first time it is needed.
 */
#include "kernel/userspace/espd.h"
#include "kernel/userspace/ipcomp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/rd.h"

#define MOD "espd"
/* a TSO super-packet: virtio-net header + up to 64 KiB of IP */
#define TUNBUF ESPD_TUNBUF
#define GROBUF ESPD_GROBUF

/* linux/if_tun.h of Linux 6.2 (older userspace headers lack them) */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

/* ---- output --------------------------------------------------------- */

static void fill_dst(struct sockaddr_storage *ss, const struct kaddr *a,
		     socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a->u.b, 4);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->u.b, 16);
		*len = sizeof(*s);
	}
}

/* Source address of the SA, via IP_PKTINFO / IPV6_PKTINFO. */
static size_t fill_src(void *buf, const struct kaddr *a)
{
	struct cmsghdr *c = buf;

	if (a->af == AF_INET) {
		struct in_pktinfo pi = {0};
		memcpy(&pi.ipi_spec_dst, a->u.b, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = {0};
		memcpy(&pi.ipi6_addr, a->u.b, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/* UDP GSO (UDP_SEGMENT): the kernel cuts one send into datagrams of
 * gso octets each, the last one possibly shorter. */
static void utx_segment_cmsg(struct espd_tx *t, unsigned i)
{
	struct msghdr *h = &t->msg[i].msg_hdr;
	struct cmsghdr *c;
	uint16_t gso = t->gso[i];

	if (t->nseg[i] < 2)
		return;
	c = (struct cmsghdr *)(void *)(t->cmsg[i].buf + h->msg_controllen);
	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(gso));
	memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	h->msg_controllen += CMSG_SPACE(sizeof(gso));
}

/* The packets of message i one by one (GSO refused). */
static void utx_unbatch(struct espd *d, int fd, struct espd_tx *t, unsigned i)
{
	struct msghdr h = t->msg[i].msg_hdr;
	struct iovec *iov = h.msg_iov;
	unsigned n = t->nseg[i];

	h.msg_controllen = t->nseg[i] > 1
			       ? h.msg_controllen - CMSG_SPACE(sizeof(uint16_t))
			       : h.msg_controllen;
	h.msg_iovlen = 1;
	for (unsigned k = 0; k < n; k++) {
		struct mmsghdr one = {.msg_hdr = h};
		one.msg_hdr.msg_iov = iov + k;
		if (sendmmsg(fd, &one, 1, 0) == 1) {
			d->st.esp_tx++;
		} else {
			d->st.send_fail++;
			log_rl_warn(MOD, "send: %s", strerror(errno));
		}
	}
}

static void utx_flush(struct espd *d, int fd, struct espd_tx *t)
{
	unsigned done = 0;

	for (unsigned i = 0; i < t->n; i++)
		utx_segment_cmsg(t, i);
	while (done < t->n) {
		/* a given socket's blocking mode is its giver's */
		int n = sendmmsg(fd, t->msg + done, t->n - done, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (t->nseg[done] > 1 &&
			    (errno == EIO || errno == EINVAL ||
			     errno == EOPNOTSUPP || errno == ENOPROTOOPT)) {
				/* a kernel or route without UDP GSO */
				log_warn(MOD,
					 "UDP GSO refused (%s): one ESP-in-UDP "
					 "packet per datagram from now on",
					 strerror(errno));
				d->udp_gso = false;
				utx_unbatch(d, fd, t, done);
			} else {
				d->st.send_fail += t->nseg[done];
				log_rl_warn(MOD, "send: %s", strerror(errno));
			}
			done++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			d->st.esp_tx += t->nseg[done + (unsigned)k];
			d->st.udp_gso += t->nseg[done + (unsigned)k] > 1;
		}
		done += (unsigned)n;
	}
	t->n = 0;
	t->niov = 0;
}

void espd_tx_flush(struct espd *d)
{
	if (d->utx[0].n)
		utx_flush(d, d->sink4, &d->utx[0]);
	if (d->utx[1].n)
		utx_flush(d, d->sink6, &d->utx[1]);
	for (int g = 0; g < OUT_N; g++) {
		struct espd_tx *t = &d->tx[g];
		unsigned done = 0;
		while (done < t->n) {
			int n = sendmmsg(d->out_fd[g], t->msg + done,
					 t->n - done, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				/* skip the packet that failed */
				d->st.send_fail++;
				log_rl_warn(MOD, "send: %s", strerror(errno));
				done++;
				continue;
			}
			d->st.esp_tx += (unsigned)n;
			done += (unsigned)n;
		}
		t->n = 0;
	}
	d->tx_slot = 0;
}

/*
 * Transport mode, outbound: the length of the IP header to drop and the
 * upper-layer protocol.  Whole datagrams only (RFC 4301 §7: transport
 * mode SAs do not carry fragments), and IPv6 without extension headers
 * (-EOPNOTSUPP; under an outermost AH espd_output keeps hop-by-hop,
 * routing and destination options in front of AH, ah6_ext_span).
 */
static int transport_strip(const uint8_t *pkt, size_t len, size_t *ihl,
			   uint8_t *nh)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		*ihl = (size_t)(pkt[0] & 15) * 4;
		if (*ihl < 20 || *ihl > len || (pkt[6] & 0x3f) || pkt[7])
			return -EINVAL;
		*nh = pkt[9];
		return 0;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		*ihl = 40;
		*nh = pkt[6];
		if (*nh == 0 || *nh == 43 || *nh == 44 || *nh == 60)
			return -EOPNOTSUPP;
		return 0;
	}
	return -EINVAL;
}

/*
 * Transport mode, inbound (RFC 4303 §3.1.1): put an IP header in front
 * of the decrypted upper-layer payload at buf + hl: the outer header's
 * addresses, next header nh.  The buffer has the room (in_esp decrypts
 * at d->dec + 40).  Returns the packet's start and sets *len.
 */
static uint8_t *transport_rebuild(uint8_t *payload, size_t plen,
				  const struct kaddr *src,
				  const struct kaddr *dst, uint8_t nh,
				  size_t *len)
{
	if (src->af == AF_INET) {
		uint8_t *h = payload - 20;
		uint32_t sum = 0;
		size_t tot = plen + 20;
		memset(h, 0, 20);
		h[0] = 0x45;
		h[2] = (uint8_t)(tot >> 8);
		h[3] = (uint8_t)tot;
		h[6] = 0x40; /* DF */
		h[8] = 64;
		h[9] = nh;
		memcpy(h + 12, src->u.b, 4);
		memcpy(h + 16, dst->u.b, 4);
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)h[i] << 8 | h[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		sum = ~sum & 0xffff;
		h[10] = (uint8_t)(sum >> 8);
		h[11] = (uint8_t)sum;
		*len = tot;
		return h;
	}
	uint8_t *h = payload - 40;
	memset(h, 0, 40);
	h[0] = 0x60;
	h[4] = (uint8_t)(plen >> 8);
	h[5] = (uint8_t)plen;
	h[6] = nh;
	h[7] = 64;
	memcpy(h + 8, src->u.b, 16);
	memcpy(h + 24, dst->u.b, 16);
	*len = plen + 40;
	return h;
}

/* Queue out (olen octets, what follows the IP header the kernel builds -
 * or, for AH, the whole packet with our header) on socket group g
 * to sa's peer; the slot it lies in is taken. */
static void tx_queue(struct espd *d, struct espd_sa *sa, int g,
		     const uint8_t *out, size_t olen)
{
	struct espd_tx *t = &d->tx[g];
	unsigned i = t->n++;
	struct mmsghdr *m = &t->msg[i];

	memset(m, 0, sizeof(*m));
	if (g == OUT_UDP4 || g == OUT_UDP6) {
		/* RFC 3948 §2.1: UDP header, checksum zero for IPv4 (IPv6:
		 * the kernel fills it in, IPV6_CHECKSUM). */
		uint8_t *u = t->udp[i];
		size_t ul = olen + 8;
		u[0] = (uint8_t)(sa->k.encap.sport >> 8);
		u[1] = (uint8_t)sa->k.encap.sport;
		u[2] = (uint8_t)(sa->k.encap.dport >> 8);
		u[3] = (uint8_t)sa->k.encap.dport;
		u[4] = (uint8_t)(ul >> 8);
		u[5] = (uint8_t)ul;
		u[6] = u[7] = 0;
		t->iov[i][0].iov_base = u;
		t->iov[i][0].iov_len = 8;
		t->iov[i][1].iov_base = (void *)(uintptr_t)out;
		t->iov[i][1].iov_len = olen;
		m->msg_hdr.msg_iovlen = 2;
	} else {
		t->iov[i][0].iov_base = (void *)(uintptr_t)out;
		t->iov[i][0].iov_len = olen;
		m->msg_hdr.msg_iovlen = 1;
	}
	m->msg_hdr.msg_iov = t->iov[i];
	fill_dst(&t->to[i], &sa->k.dst, &m->msg_hdr.msg_namelen);
	m->msg_hdr.msg_name = &t->to[i];
	/* AH: IP_HDRINCL / IPV6_HDRINCL, the source is in our header */
	if (g != OUT_AH4 && g != OUT_AH6) {
		m->msg_hdr.msg_control = t->cmsg[i].buf;
		m->msg_hdr.msg_controllen =
		    fill_src(t->cmsg[i].buf, &sa->k.src);
	}
	d->tx_slot++;
}

/* Largest run of one UDP GSO send: UDP_MAX_SEGMENTS is 64 in older
 * kernels; the datagram (UDP header included) must fit IPv4's and
 * IPv6's 16-bit lengths. */
#define UTX_MAX_SEG   64
#define UTX_MAX_BYTES (0xffff - 60 - 8)

/*
 * ESP-in-UDP through our own UDP 4500 socket (-u, fam 0 = IPv4, 1 =
 * IPv6): the kernel writes the UDP header and checksum.  Consecutive
 * packets of one SA whose sizes do not grow join the previous message
 * as one UDP GSO send (all but the last of a run exactly the size of
 * the first: the segments of one TSO super-packet), so the stack below
 * (route, netfilter, qdisc, device) runs once per run; the peer's stack
 * or NIC cuts it into datagrams, or hands a UDP_GRO socket the run.
 */
static void utx_queue(struct espd *d, struct espd_sa *sa, int fam,
		      const uint8_t *out, size_t olen)
{
	struct espd_tx *t = &d->utx[fam];
	struct iovec *iov = &t->iov[0][0];
	struct mmsghdr *m;
	unsigned i;

	iov[t->niov].iov_base = (void *)(uintptr_t)out;
	iov[t->niov].iov_len = olen;
	if (t->n && d->udp_gso) {
		i = t->n - 1;
		m = &t->msg[i];
		if (t->sa[i] == sa && !t->closed[i] && olen <= t->gso[i] &&
		    t->nseg[i] < UTX_MAX_SEG &&
		    t->bytes[i] + olen <= UTX_MAX_BYTES) {
			m->msg_hdr.msg_iovlen++;
			t->niov++;
			t->nseg[i]++;
			t->bytes[i] += (uint32_t)olen;
			t->closed[i] = olen < t->gso[i];
			d->tx_slot++;
			return;
		}
	}
	i = t->n++;
	m = &t->msg[i];
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_iov = &iov[t->niov++];
	m->msg_hdr.msg_iovlen = 1;
	fill_dst(&t->to[i], &sa->k.dst, &m->msg_hdr.msg_namelen);
	/* sin_port and sin6_port share their offset */
	((struct sockaddr_in *)&t->to[i])->sin_port = htons(sa->k.encap.dport);
	m->msg_hdr.msg_name = &t->to[i];
	m->msg_hdr.msg_control = t->cmsg[i].buf;
	m->msg_hdr.msg_controllen = fill_src(t->cmsg[i].buf, &sa->k.src);
	t->sa[i] = sa;
	t->gso[i] = (uint16_t)olen;
	t->nseg[i] = 1;
	t->bytes[i] = (uint32_t)olen;
	t->closed[i] = false;
	d->tx_slot++;
}

/* Whether ESP-in-UDP from src leaves through sink4 / sink6: bound to
 * any address (-u, or a given wildcard socket) or to src itself. */
static bool sink_for(const struct espd *d, const struct kaddr *src)
{
	int f = src->af == AF_INET ? 0 : 1;
	const struct kaddr *b = &d->sink_src[f];

	if ((f ? d->sink6 : d->sink4) < 0)
		return false;
	return !b->af || espd_addr_eq(b, src);
}

/*
 * ESP-protect payload (len octets, next header nh) into the free TX
 * slot and queue it.  In place when the payload was built in that slot
 * (TSO segments, tx_getbuf): the ESP header then ends where it starts.
 */
static int esp_send(struct espd *d, struct espd_sa *sa, const uint8_t *payload,
		    size_t len, uint8_t nh)
{
	uint8_t *slot = d->txb[d->tx_slot], *out;
	size_t olen, hl = esp_hdr_len(&sa->esp), cap;
	unsigned ev = 0;
	int g, rc;

	if (payload >= slot + hl && payload < slot + ESPD_SLOT)
		out = (uint8_t *)(uintptr_t)payload - hl;
	else
		out = slot + ESP_MAX_HDR - hl;
	cap = ESPD_SLOT - (size_t)(out - slot);
	if (esp_encap_len(&sa->esp, len) > cap) {
		d->st.too_big++;
		return -EMSGSIZE;
	}
	/* RFC 4303 §3.3: tunnel mode, next header 4 or 41. */
	rc = esp_encap(&sa->esp, payload, len, nh, out, cap, &olen, espd_now(),
		       &ev);
	if (rc < 0) {
		d->st.enc_fail++;
		log_rl_warn(MOD, "encap spi 0x%08x: %s", sa->k.spi,
			    esp_strerror(rc));
		espd_sa_events(d, sa, ev);
		return rc;
	}
	g = sa->k.dst.af == AF_INET ? OUT_ESP4 : OUT_ESP6;
	if (sa->k.encap.enabled && sa->k.encap.sport == NAT_T_PORT &&
	    sink_for(d, &sa->k.src))
		utx_queue(d, sa, sa->k.dst.af == AF_INET ? 0 : 1, out, olen);
	else if (sa->k.encap.enabled)
		tx_queue(d, sa, g + OUT_UDP4 - OUT_ESP4, out, olen);
	else
		tx_queue(d, sa, g, out, olen);
	espd_sa_events(d, sa, ev);
	return 0;
}

/*
 * AH-protect payload (len octets, next header nh) as the outermost
 * transform (RFC 4302 §3.1: tunnel or transport, the outer header from
 * the SA's addresses).  The ICV covers the outer IP header, so it is
 * built here with the values the wire will carry in its immutable
 * fields and sent as it is: IPv4 with IP_HDRINCL and our own non-zero
 * Identification (the kernel would pick one after the ICV otherwise;
 * it fills in only the checksum, a mutable field), IPv6 with
 * IPV6_HDRINCL.  x6 (IPv6 transport mode, else NULL): the packet whose
 * extension headers [40, x6end) stay in front of AH (§3.1.1,
 * ah6_ext_span), the next-header octet at x6last then naming AH.
 */
static int ah_send(struct espd *d, struct espd_sa *sa, const uint8_t *payload,
		   size_t len, uint8_t nh, const uint8_t *x6, size_t x6end,
		   size_t x6last)
{
	bool v6 = sa->k.dst.af == AF_INET6;
	size_t xl = v6 && x6 ? x6end - 40 : 0;
	size_t iphl = (v6 ? 40 : 20) + xl,
	       ahl = ah_hdr_len(&sa->esp, sa->k.dst.af);
	size_t tot = iphl + ahl + len;
	uint8_t *h = d->txb[d->tx_slot], x[AH_MAX_IPHDR];
	unsigned ev = 0;
	int rc;

	if (tot > ESPD_SLOT || tot - (v6 ? 40 : 0) > 0xffff ||
	    xl > sizeof(x) - 40) {
		d->st.too_big++;
		return -EMSGSIZE;
	}
	/* the extension headers, and the payload, may lie in this slot
	 * (TSO): copied aside / memmove */
	if (xl)
		memcpy(x, x6, x6end);
	memmove(h + iphl + ahl, payload, len);
	memset(h, 0, iphl);
	if (!v6) {
		if (!++d->ah_ip_id)
			d->ah_ip_id = 1;
		h[0] = 0x45;
		h[2] = (uint8_t)(tot >> 8);
		h[3] = (uint8_t)tot;
		h[4] = (uint8_t)(d->ah_ip_id >> 8);
		h[5] = (uint8_t)d->ah_ip_id;
		h[8] = 64;
		h[9] = IPPROTO_AH;
		memcpy(h + 12, sa->k.src.u.b, 4);
		memcpy(h + 16, sa->k.dst.u.b, 4);
	} else {
		h[0] = 0x60;
		h[4] = (uint8_t)((tot - 40) >> 8);
		h[5] = (uint8_t)(tot - 40);
		h[6] = IPPROTO_AH;
		h[7] = 64;
		memcpy(h + 8, sa->k.src.u.b, 16);
		memcpy(h + 24, sa->k.dst.u.b, 16);
		if (xl) {
			h[6] = x[6];
			memcpy(h + 40, x + 40, xl);
			h[x6last] = IPPROTO_AH;
		}
	}
	rc = ah_encap(&sa->esp, h, tot, iphl, nh, espd_now(), &ev);
	if (rc < 0) {
		d->st.enc_fail++;
		log_rl_warn(MOD, "AH spi 0x%08x: %s", sa->k.spi,
			    ah_strerror(rc));
		espd_sa_events(d, sa, ev);
		return rc;
	}
	d->st.ah_tx++;
	tx_queue(d, sa, v6 ? OUT_AH6 : OUT_AH4, h, tot);
	espd_sa_events(d, sa, ev);
	return 0;
}

int espd_output(struct espd *d, const struct espd_bundle *b, const uint8_t *pkt,
		size_t len)
{
	struct espd_sa *inner = b->sa[0], *outer = b->sa[b->n - 1];
	const uint8_t *cur = pkt, *x6 = NULL;
	size_t curlen = len, x6end = 40, x6last = 6;
	unsigned k = 0;
	uint8_t nh;
	int rc;

	if (d->tx_slot == ESPD_BATCH)
		espd_tx_flush(d);
	nh = (pkt[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	if (inner->k.mode == KMODE_TRANSPORT) {
		/* RFC 4303 §3.1.1 / RFC 4302 §3.1.1: transport mode
		 * protects the upper-layer payload; the IP header is rebuilt
		 * from the SA's addresses, which are the packet's own. */
		size_t ihl;
		rc = transport_strip(pkt, len, &ihl, &nh);
		/* IPv6 under an outermost AH: hop-by-hop, destination
		 * options and routing headers (segments left 0) stay in
		 * front of AH, inside its ICV (RFC 4302 §3.1.1) */
		if (rc == -EOPNOTSUPP && outer->k.proto == IPPROTO_AH &&
		    (rc = ah6_ext_span(pkt, len, &x6end, &x6last, &nh)) == 0) {
			ihl = x6end;
			x6 = pkt;
		}
		if (rc < 0) {
			if (rc == AH_E_ROUTING)
				d->st.ah_routing++;
			else
				d->st.malformed++;
			if (outer->k.proto == IPPROTO_AH)
				log_rl_warn(MOD, "AH spi 0x%08x: %s dropped",
					    outer->k.spi, ah_strerror(rc));
			return rc;
		}
		cur += ihl;
		curlen -= ihl;
	}
	/*
	 * A bundle (espd.h): the inner transforms in order into the two
	 * output scratch buffers in turn; the outermost one (ESP or AH) is
	 * applied in the TX slot it is sent from.
	 */
	for (unsigned i = 0; i + 1 < b->n; i++) {
		struct espd_sa *sa = b->sa[i];
		const struct espd_xf *xf = espd_xf_find(sa->k.proto);
		uint8_t *o = d->xo + (size_t)k * ESPD_SLOT;
		size_t olen = 0;
		unsigned ev = 0;

		if (!xf) {
			d->st.enc_fail++;
			return -EPROTONOSUPPORT;
		}
		rc = xf->out(&sa->esp, cur, curlen, nh, o, ESPD_SLOT, &olen,
			     espd_now(), &ev);
		if (rc < 0) {
			d->st.enc_fail++;
			log_rl_warn(MOD, "proto %u spi 0x%08x: %s", sa->k.proto,
				    sa->k.spi, esp_strerror(rc));
		}
		espd_sa_events(d, sa, ev);
		if (rc < 0)
			return rc;
		if (rc == 1) /* not applied (IPComp: RFC 3173 §2.2) */
			continue;
		cur = o;
		curlen = olen;
		nh = sa->k.proto;
		k ^= 1;
	}
	if (outer->k.proto == IPPROTO_AH)
		return ah_send(d, outer, cur, curlen, nh, x6, x6end, x6last);
	return esp_send(d, outer, cur, curlen, nh);
}

static void queue_packet(struct espd *d, struct espd_pol *p, const uint8_t *pkt,
			 size_t len)
{
	unsigned idx;

	if (len > ESPD_SLOT) {
		d->st.too_big++;
		return;
	}
	if (!p->q) {
		/* bounded: ESPD_MAX_QUEUES policies hold a queue at once */
		if (d->nqueues >= ESPD_MAX_QUEUES ||
		    !(p->q = malloc((size_t)ESPD_QLEN * ESPD_SLOT))) {
			d->st.queue_drop++;
			return;
		}
		d->nqueues++;
		p->qhead = 0;
	}
	if (p->qcount == ESPD_QLEN) {
		/* keep the newest, like the kernel's larval queue */
		p->qhead = (p->qhead + 1) % ESPD_QLEN;
		p->qcount--;
		d->st.queue_drop++;
	}
	idx = (p->qhead + p->qcount) % ESPD_QLEN;
	memcpy(p->q + (size_t)idx * ESPD_SLOT, pkt, len);
	p->qlen[idx] = (uint16_t)len;
	p->qcount++;
	d->st.queued++;
}

void espd_queue_flush(struct espd *d)
{
	for (struct espd_pol *p = d->pols; p; p = p->next) {
		while (p->qcount) {
			const uint8_t *pkt =
			    p->q + (size_t)p->qhead * ESPD_SLOT;
			size_t len = p->qlen[p->qhead];
			struct ksel flow;
			struct espd_bundle b;
			unsigned missing;
			if (espd_flow(pkt, len, &flow) < 0)
				break;
			if (espd_bundle_out(d, p, &flow, &b, &missing) < 0)
				break;
			espd_output(d, &b, pkt, len);
			p->qhead = (p->qhead + 1) % ESPD_QLEN;
			p->qcount--;
		}
		if (!p->qcount) {
			p->acq_sent = 0;
			if (p->q) {
				free(p->q);
				p->q = NULL;
				d->nqueues--;
			}
		}
	}
	espd_tx_flush(d);
}

static void out_packet(struct espd *d, const uint8_t *pkt, size_t len)
{
	struct ksel flow;
	struct espd_pol *p;
	struct espd_bundle b;
	unsigned missing;
	int ilen = espd_flow(pkt, len, &flow);

	if (ilen < 0) {
		d->st.malformed++;
		return;
	}
	p = espd_spd_lookup(d, KDIR_OUT, &flow);
	if (!p) {
		d->st.no_policy++;
		return;
	}
	if (p->p.action != KPOL_IPSEC) {
		/* a bypass packet cannot leave through the TUN device */
		d->st.discard++;
		return;
	}
	p->p.cur_packets++;
	p->p.cur_bytes += len;
	p->p.use_time = espd_now();
	if (espd_bundle_out(d, p, &flow, &b, &missing) < 0) {
		d->st.no_sa++;
		queue_packet(d, p, pkt, len);
		espd_acquire(d, p, &flow, missing);
		return;
	}
	espd_output(d, &b, pkt, len);
}

/* TSO segments are built in the next free TX slot, behind room for the
 * largest ESP header, so espd_output() encrypts them in place. */
static uint8_t *tx_getbuf(void *arg, size_t *cap)
{
	struct espd *d = arg;

	if (d->tx_slot == ESPD_BATCH)
		espd_tx_flush(d);
	*cap = ESPD_SLOT - ESP_MAX_OVERHEAD;
	return d->txb[d->tx_slot] + ESP_MAX_HDR;
}

static int seg_out(void *arg, const uint8_t *pkt, size_t len)
{
	out_packet(arg, pkt, len);
	return 0;
}

void espd_tun_packet(struct espd *d, size_t n)
{
	struct off_vnet h;
	int rc;

	if (!d->offload) {
		d->st.tun_rx++;
		out_packet(d, d->tunbuf, n);
		return;
	}
	if (off_vnet_parse(d->tunbuf, n, &h) < 0) {
		d->st.malformed++;
		return;
	}
	rc = off_segment_to(&h, d->tunbuf + OFF_VNET_LEN, n - OFF_VNET_LEN,
			    tx_getbuf, d, seg_out, d);
	if (rc < 0) {
		d->st.malformed++;
		log_rl_warn(MOD, "TUN packet (gso %u/%u) dropped: %s",
			    h.gso_type, h.gso_size, strerror(-rc));
		return;
	}
	d->st.tun_rx += (unsigned)rc;
	if (h.gso_type != OFF_GSO_NONE)
		d->st.tun_gso++;
}

static void tun_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct espd *d = arg;

	espd_batch_begin(d);
	for (int i = 0; i < 256; i++) {
		ssize_t n = read(fd, d->tunbuf, TUNBUF);
		if (n <= 0)
			break;
		espd_tun_packet(d, (size_t)n);
	}
	espd_tx_flush(d);
	espd_batch_end(d);
}

/* ---- input ---------------------------------------------------------- */

static int tun_write(void *arg, uint8_t *buf, size_t len, unsigned nseg)
{
	struct espd *d = arg;

	if (write(d->tun_fd, buf, len) != (ssize_t)len) {
		d->st.tun_write_fail++;
		log_rl_warn(MOD, "TUN write (%u segments): %s", nseg,
			    strerror(errno));
		return 0;
	}
	d->st.tun_tx += nseg;
	if (nseg > 1)
		d->st.tun_gro++;
	return 0;
}

static bool sel_is_host_pair(const struct ksel *s, uint8_t af)
{
	uint8_t full = af == AF_INET ? 32 : 128;

	return s->af == af && s->src.af == af && s->dst.af == af &&
	       s->src_plen == full && s->dst_plen == full;
}

static bool in_dec(const struct espd *d, const uint8_t *p)
{
	return (p >= d->dec + 40 && p < d->dec + ESPD_SLOT) ||
	       (p >= d->dec2 + 40 && p < d->dec2 + ESPD_SLOT + AH_MAX_IPHDR);
}

/* Where the next transform of an inbound chain writes: 40 octets into
 * whichever of dec / dec2 cur is not in (room for transport_rebuild). */
static uint8_t *in_next_buf(struct espd *d, const uint8_t *cur)
{
	return (cur >= d->dec && cur < d->dec + ESPD_SLOT) ? d->dec2 + 40
							   : d->dec + 40;
}

/*
 * An inbound packet whose outermost transform verified: sa (with its
 * lifetime events ev0) gave cur (curlen octets, next header nh).  The
 * inner transforms of a bundle (ESP, IPComp: espd_xf_find) by SPI / CPI
 * at the same endpoints, then the transport header rebuilt or the
 * tunnel's inner packet taken, the inbound policy checked against the
 * chain of SAs (RFC 4301 §5.2), and the packet written to TUN.  Events
 * are raised at the end (a hard one removes its SA).
 */
static void in_chain(struct espd *d, const struct kaddr *src,
		     struct espd_sa *sa, unsigned ev0, const uint8_t *cur,
		     size_t curlen, uint8_t nh)
{
	struct espd_sa *chain[KPOL_MAX_TMPL] = {sa}, *inner;
	unsigned evs[KPOL_MAX_TMPL] = {ev0}, n = 1;
	struct ksel flow;
	uint8_t *pkt;
	size_t plen;
	int ilen;

	while (nh == IPPROTO_ESP || nh == IPPROTO_COMP) {
		const struct espd_xf *xf = espd_xf_find(nh);
		struct espd_sa *in;
		uint32_t spi, seq;
		uint8_t *o = in_next_buf(d, cur);
		size_t olen;
		int rc;

		if (n == KPOL_MAX_TMPL || !xf ||
		    xf->peek(cur, curlen, &spi, &seq) < 0) {
			d->st.malformed++;
			goto out_events;
		}
		in = espd_sa_in(d, nh, spi, &sa->k.dst);
		for (unsigned j = 0; in && j < n; j++)
			if (chain[j] == in)
				in = NULL;
		/* one bundle: the same endpoints */
		if (!in || !espd_addr_eq(&in->k.src, &sa->k.src)) {
			d->st.unknown_spi++;
			log_rl_warn(MOD, "inner proto %u SPI 0x%08x unknown",
				    nh, spi);
			goto out_events;
		}
		evs[n] = 0;
		chain[n++] = in;
		rc = xf->in(&in->esp, cur, curlen, o, ESPD_SLOT - 40, &olen,
			    &nh, espd_now(), &evs[n - 1]);
		if (rc < 0) {
			d->st.decap_fail++;
			if (in->k.proto == IPPROTO_COMP) {
				if (rc == IPCOMP_E_BOMB)
					d->st.comp_bomb++;
				else
					d->st.comp_bad++;
			}
			log_rl_warn(
			    MOD, "inner proto %u spi 0x%08x dropped: %s",
			    in->k.proto, spi,
			    in->k.proto == IPPROTO_COMP ? ipcomp_strerror(rc)
							: esp_strerror(rc));
			goto out_events;
		}
		cur = o;
		curlen = olen;
	}
	/* RFC 4303 §2.6 / RFC 4302 §2.1: next header 59, nothing follows
	 * (a TFC dummy packet) */
	if (nh == 59)
		goto out_events;
	/* from here on the packet is in dec/dec2 with 40 octets in front */
	if (!in_dec(d, cur)) {
		if (curlen > ESPD_SLOT - 40) {
			d->st.too_big++;
			goto out_events;
		}
		memcpy(d->dec + 40, cur, curlen);
		cur = d->dec + 40;
	}
	pkt = (uint8_t *)(uintptr_t)cur;
	plen = curlen;
	inner = chain[n - 1];
	if (inner->k.mode == KMODE_TRANSPORT) {
		/* RFC 4303 §3.1.1 / RFC 4302 §3.1.1: the outer header's
		 * addresses are the packet's; the next header is the
		 * upper-layer protocol (not another IP header: that is
		 * tunnel mode) */
		const struct kaddr *rs = &inner->k.src, *rd = &inner->k.dst;
		size_t tl;
		if (nh == IPPROTO_IPIP || nh == IPPROTO_IPV6 ||
		    src->af != inner->k.src.af) {
			d->st.malformed++;
			goto out_events;
		}
		/* A transport SA pinned to one host pair whose endpoints are
		 * not the pair (a mobile node's care-of address while the
		 * negotiated TS is its home address, RFC 4877 / RFC 6275
		 * §11.3.1): the packet is the selector's, as the peer sent
		 * it; the ICV covered it, the TS authorised it. */
		if (sel_is_host_pair(&inner->k.sel, inner->k.src.af)) {
			rs = &inner->k.sel.src;
			rd = &inner->k.sel.dst;
		}
		pkt = transport_rebuild(pkt, plen, rs, rd, nh, &tl);
		plen = tl;
		nh = src->af == AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	}
	ilen = espd_flow(pkt, plen, &flow);
	if (ilen < 0 || (nh == IPPROTO_IPIP && flow.af != AF_INET) ||
	    (nh == IPPROTO_IPV6 && flow.af != AF_INET6) ||
	    (nh != IPPROTO_IPIP && nh != IPPROTO_IPV6)) {
		d->st.malformed++;
		goto out_events;
	}
	if (!espd_in_policy_ok(d, chain, n, &flow)) {
		d->st.policy_drop++;
		log_rl_warn(MOD,
			    "decrypted packet matches no inbound policy "
			    "of SA 0x%08x (%u SA%s)",
			    sa->k.spi, n, n == 1 ? "" : "s");
		goto out_events;
	}
	/* RFC 4303 §2.4: trailing TFC padding after the inner packet */
	if (d->offload)
		off_gro_push(&d->gro, pkt, (size_t)ilen, tun_write, d);
	else
		tun_write(d, pkt, (size_t)ilen, 1);
out_events:
	while (n-- > 0)
		espd_sa_events(d, chain[n], evs[n]);
}

static void in_esp(struct espd *d, const struct kaddr *src,
		   const struct kaddr *dst, bool encap, uint16_t sport,
		   const uint8_t *esp, size_t len)
{
	struct espd_sa *sa;
	uint32_t spi, seq;
	size_t plen;
	uint8_t nh, *dec = d->dec + 40;
	unsigned ev = 0;
	int rc;

	if (esp_peek(esp, len, &spi, &seq) < 0) {
		d->st.malformed++;
		return;
	}
	sa = espd_sa_in(d, IPPROTO_ESP, spi, dst);
	if (!sa) {
		d->st.unknown_spi++;
		log_rl_warn(MOD, "ESP with unknown SPI 0x%08x", spi);
		return;
	}
	/* room for a transport mode IP header rebuilt in front */
	rc = esp_decap(&sa->esp, esp, len, dec, ESPD_SLOT - 40, &plen, &nh,
		       espd_now(), &ev);
	if (rc < 0) {
		d->st.decap_fail++;
		log_rl_warn(MOD, "ESP spi 0x%08x seq %u dropped: %s", spi, seq,
			    esp_strerror(rc));
		return;
	}
	d->st.esp_rx++;
	/* RFC 3948 §3 / RFC 7296 §2.23: an authenticated packet from a
	 * new address or port: report, iked decides. */
	if (encap && sa->k.encap.enabled &&
	    (memcmp(src->u.b, sa->k.src.u.b, 16) != 0 ||
	     sport != sa->k.encap.sport))
		espd_mapping(d, sa, src, sport);
	in_chain(d, src, sa, ev, dec, plen, nh);
}

/*
 * AH (RFC 4302 §3.4): pkt is the whole IP packet (IPv6: its header
 * rebuilt by espd_rx_one, see there).  Drops are counted by reason and
 * logged rate-limited; nothing changes before the ICV verified.
 */
static void in_ah(struct espd *d, const struct kaddr *src,
		  const struct kaddr *dst, const uint8_t *pkt, size_t len)
{
	struct espd_sa *sa;
	char a[INET6_ADDRSTRLEN];
	size_t off, pay;
	uint32_t spi, seq;
	uint8_t nh;
	unsigned ev = 0;
	int rc;

	rc = ah_peek(pkt, len, &off, &spi, &seq);
	if (rc < 0) {
		if (rc == AH_E_ROUTING)
			d->st.ah_routing++;
		else
			d->st.ah_malformed++;
		log_rl_warn(MOD, "AH from %s dropped: %s",
			    inet_ntop(src->af, src->u.b, a, sizeof(a)),
			    ah_strerror(rc));
		return;
	}
	sa = espd_sa_in(d, IPPROTO_AH, spi, dst);
	if (!sa) {
		d->st.unknown_spi++;
		log_rl_warn(MOD, "AH with unknown SPI 0x%08x", spi);
		return;
	}
	rc = ah_decap(&sa->esp, pkt, len, off, &nh, &pay, espd_now(), &ev);
	if (rc < 0) {
		if (rc == ESP_E_AUTH)
			d->st.ah_auth++;
		else if (rc == ESP_E_REPLAY)
			d->st.ah_replay++;
		else if (rc == ESP_E_SHORT)
			d->st.ah_malformed++;
		else
			d->st.ah_other++;
		d->st.decap_fail++;
		log_rl_warn(MOD, "AH spi 0x%08x seq %u dropped: %s", spi, seq,
			    esp_strerror(rc));
		return;
	}
	d->st.ah_rx++;
	in_chain(d, src, sa, ev, pkt + pay, len - pay, nh);
}

void espd_rx_flush(struct espd *d)
{
	if (d->offload)
		off_gro_flush(&d->gro, tun_write, d);
}

struct rxmeta {
	struct mmsghdr msg[ESPD_BATCH];
	struct iovec iov[ESPD_BATCH];
	struct sockaddr_in6 from[ESPD_BATCH];
	union {
		/* IPV6_PKTINFO; for AH the extension headers too */
		char buf[64 + AH_MAX_IPHDR + 64];
		struct cmsghdr align;
	} cmsg[ESPD_BATCH];
};

_Static_assert(ESPD_URX_N <= ESPD_BATCH,
	       "own_rx_cb arms ESPD_URX_N rxmeta entries");

/* Points the first n entries of m at n buffers of slot octets from base,
 * with room for a source address and ancillary data, before a recvmmsg
 * (which overwrites the lengths). */
static void rxmeta_arm(struct rxmeta *m, uint8_t *base, size_t slot, int n)
{
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &m->msg[i].msg_hdr;

		m->iov[i].iov_base = base + (size_t)i * slot;
		m->iov[i].iov_len = slot;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &m->iov[i];
		h->msg_iovlen = 1;
		h->msg_name = &m->from[i];
		h->msg_namelen = sizeof(m->from[i]);
		h->msg_control = m->cmsg[i].buf;
		h->msg_controllen = sizeof(m->cmsg[i].buf);
	}
}

static bool pktinfo6(struct msghdr *mh, struct kaddr *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->af = AF_INET6;
			memcpy(dst->u.b, &pi.ipi6_addr, 16);
			return true;
		}
	}
	return false;
}

/*
 * IPv6 AH: raw sockets deliver what follows the IPv6 header and the
 * extension headers the kernel processed, and those in ancillary data
 * (IPV6_RECVHOPOPTS / RECVDSTOPTS / RECVRTHDR, RFC 3542 §4, in the
 * order of the packet).  The header is rebuilt into h for the ICV
 * (RFC 4302 §3.3.3.1.2): version, addresses, payload length and the
 * extension headers as received; traffic class, flow label and hop
 * limit are mutable (zero).  The headers' own next-header octets chain
 * them; ah_peek() walks that chain to AH and refuses anything else.
 * Returns the header length (<= AH_MAX_IPHDR) or -EBADMSG.
 */
static int ah6_rebuild(const struct msghdr *mh, const struct kaddr *src,
		       const struct kaddr *dst, size_t len, uint8_t *h)
{
	size_t off = 40, plen;
	uint8_t *first = h + 6;

	if (mh->msg_flags & MSG_CTRUNC)
		return -EBADMSG;
	memset(h, 0, 40);
	h[0] = 0x60;
	*first = IPPROTO_AH;
	memcpy(h + 8, src->u.b, 16);
	memcpy(h + 24, dst->u.b, 16);
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)mh); c;
	     c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		uint8_t type;
		size_t n;
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_HOPOPTS)
			type = 0;
		else if (c->cmsg_type == IPV6_DSTOPTS)
			type = 60;
		else if (c->cmsg_type == IPV6_RTHDR)
			type = 43;
		else
			continue;
		if (c->cmsg_len < CMSG_LEN(8))
			return -EBADMSG;
		n = c->cmsg_len - CMSG_LEN(0);
		/* RFC 8200 §4: a multiple of 8 octets */
		if (n % 8 || n > AH_MAX_IPHDR - off)
			return -EBADMSG;
		/* the IPv6 header names the first one; each header names
		 * its successor itself */
		if (off == 40)
			*first = type;
		memcpy(h + off, CMSG_DATA(c), n);
		off += n;
	}
	plen = off - 40 + len;
	if (plen > 0xffff)
		return -EBADMSG;
	h[4] = (uint8_t)(plen >> 8);
	h[5] = (uint8_t)plen;
	return (int)off;
}

void espd_rx_one(struct espd *d, int g, struct msghdr *mh, const uint8_t *buf,
		 size_t len)
{
	struct rd r = rd_init(buf, len), rest;
	struct kaddr src = {0}, dst = {0};
	uint16_t sport = 0, dport, ulen;
	bool udp = g == OUT_UDP4 || g == OUT_UDP6;

	if (g == OUT_ESP4 || g == OUT_UDP4 || g == OUT_AH4) {
		/* IPv4 raw sockets deliver the IP header too */
		uint8_t vihl;
		if (rd_u8(&r, &vihl) < 0 || vihl >> 4 != 4 || (vihl & 15) < 5 ||
		    rd_skip(&r, 11) < 0 || rd_bytes(&r, src.u.b, 4) < 0 ||
		    rd_bytes(&r, dst.u.b, 4) < 0 ||
		    rd_skip(&r, (size_t)(vihl & 15) * 4 - 20) < 0) {
			d->st.malformed++;
			return;
		}
		src.af = dst.af = AF_INET;
	} else {
		const struct sockaddr_in6 *s6 = mh->msg_name;
		src.af = AF_INET6;
		memcpy(src.u.b, &s6->sin6_addr, 16);
		if (!pktinfo6(mh, &dst)) {
			d->st.malformed++;
			return;
		}
	}
	if (g == OUT_AH4) {
		in_ah(d, &src, &dst, buf, len);
		return;
	}
	if (g == OUT_AH6) {
		uint8_t *h = d->dec2;
		char a[INET6_ADDRSTRLEN];
		int hl;
		if (len > ESPD_SLOT || len > 0xffff) {
			d->st.too_big++;
			return;
		}
		hl = ah6_rebuild(mh, &src, &dst, len, h);
		if (hl < 0) {
			d->st.ah_malformed++;
			log_rl_warn(MOD,
				    "AH from %s dropped: extension headers "
				    "in front of it unreadable",
				    inet_ntop(AF_INET6, src.u.b, a, sizeof(a)));
			return;
		}
		memcpy(h + hl, buf, len);
		in_ah(d, &src, &dst, h, len + (size_t)hl);
		return;
	}
	if (udp) {
		uint32_t marker;
		/* RFC 3948 §2.1-2.2: UDP header, then ESP whose SPI is
		 * never zero (zero = non-ESP marker, IKE: not ours). */
		if (rd_u16(&r, &sport) < 0 || rd_u16(&r, &dport) < 0 ||
		    rd_u16(&r, &ulen) < 0 || rd_skip(&r, 2) < 0 ||
		    dport != NAT_T_PORT) {
			d->st.malformed++;
			return;
		}
		rest = r;
		if (rd_u32(&rest, &marker) < 0 || marker == 0)
			return;
	}
	rest = rd_rest(&r);
	in_esp(d, &src, &dst, udp, sport, rest.p, rest.len);
}

static void rx_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct espd *d = arg;
	static struct rxmeta m;
	int g;

	for (g = 0; g < OUT_N && d->out_fd[g] != fd; g++)
		;
	if (g == OUT_N)
		return;
	espd_batch_begin(d);
	for (int round = 0; round < 8; round++) {
		int n;
		rxmeta_arm(&m, d->rx[0], ESPD_SLOT, ESPD_BATCH);
		n = recvmmsg(fd, m.msg, ESPD_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (m.msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				d->st.too_big++;
				continue;
			}
			espd_rx_one(d, g, &m.msg[i].msg_hdr, d->rx[i],
				    m.msg[i].msg_len);
		}
		espd_rx_flush(d);
		if (n < ESPD_BATCH)
			break;
	}
	espd_batch_end(d);
}

/* IP_PKTINFO / IPV6_PKTINFO (the header's destination) and UDP_GRO
 * (the size of the datagrams a GRO run was made of; 0 if none). */
static bool own_cmsg(struct msghdr *mh, struct kaddr *dst, size_t *gso)
{
	bool ok = false;

	*gso = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->af = AF_INET;
			memcpy(dst->u.b, &pi.ipi_addr, 4);
			ok = true;
		} else if (c->cmsg_level == IPPROTO_UDP &&
			   c->cmsg_type == UDP_GRO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*gso = v > 0 ? (size_t)v : 0;
		}
	}
	return ok || pktinfo6(mh, dst);
}

/*
 * ESP-in-UDP on our own (-u) or the IKE daemon's given UDP 4500 sockets.
 * With UDP_GRO the kernel hands over runs of datagrams of one flow as one
 * buffer plus their size (the last one may be shorter): each is a
 * datagram of its own, handled as the raw tap's are (RFC 3948 §2.2: a
 * zero non-ESP marker is IKE, a one-octet 0xff is a NAT keepalive; with
 * -u no IKE daemon listens, on a given socket the steering keeps them
 * away: both are counted in udp_not_esp and dropped).
 */
static void own_rx_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct espd *d = arg;
	static struct rxmeta m;
	(void)loop;
	(void)events;

	espd_batch_begin(d);
	for (int round = 0; round < 16; round++) {
		int n;
		rxmeta_arm(&m, d->urx, ESPD_URX, ESPD_URX_N);
		n = recvmmsg(fd, m.msg, ESPD_URX_N, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &m.msg[i].msg_hdr;
			const uint8_t *p = m.iov[i].iov_base;
			size_t len = m.msg[i].msg_len, seg;
			struct kaddr src = {0}, dst = {0};
			uint16_t sport;

			if (h->msg_flags & MSG_TRUNC) {
				d->st.too_big++;
				continue;
			}
			if (!own_cmsg(h, &dst, &seg)) {
				d->st.malformed++;
				continue;
			}
			if (m.from[i].sin6_family == AF_INET6) {
				src.af = AF_INET6;
				memcpy(src.u.b, &m.from[i].sin6_addr, 16);
			} else {
				const struct sockaddr_in *s4 =
				    (const void *)&m.from[i];
				src.af = AF_INET;
				memcpy(src.u.b, &s4->sin_addr, 4);
			}
			/* sin_port and sin6_port share their offset */
			sport = ntohs(m.from[i].sin6_port);
			if (seg == 0 || seg > len)
				seg = len;
			d->st.udp_gro += seg < len;
			for (size_t off = 0; off < len; off += seg) {
				size_t l = len - off < seg ? len - off : seg;
				if (l < 8 || !(p[off] | p[off + 1] |
					       p[off + 2] | p[off + 3])) {
					d->st.udp_not_esp++;
					continue;
				}
				d->st.udp_rx++;
				in_esp(d, &src, &dst, true, sport, p + off, l);
			}
		}
		espd_rx_flush(d);
		if (n < ESPD_URX_N)
			break;
	}
	espd_batch_end(d);
}

/* ---- setup ---------------------------------------------------------- */

/* RFC 3948 §2.2 demultiplexing in the kernel: keep UDP to port 4500
 * whose payload is longer than 8 bytes and does not start with the
 * four-byte zero non-ESP marker.  IPv4 raw sockets see the IP header. */
static struct sock_filter filt4[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 10),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 8, 0),
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NAT_T_PORT, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 16, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

/* IPv6 raw sockets see the packet from the UDP header on. */
static struct sock_filter filt6[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NAT_T_PORT, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 16, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

static int raw_open(int af, int proto, struct sock_filter *f, size_t nf)
{
	int fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int one = 1, buf = 4 << 20, off = 6;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	/* transport mode: the fwmark rule keeps our ESP out of the TUN
	 * routes to transport peers (espd_rules) */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &(unsigned){ESPD_MARK},
		       sizeof(unsigned)) < 0)
		goto fail;
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			   sizeof(one));
		/* AH: the extension headers in front of it, for the ICV
		 * (ah6_rebuild), and our own IPv6 header out (ah_send) */
		if (proto == IPPROTO_AH &&
		    (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPOPTS, &one,
				sizeof(one)) < 0 ||
		     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVDSTOPTS, &one,
				sizeof(one)) < 0 ||
		     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVRTHDR, &one,
				sizeof(one)) < 0 ||
		     setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one,
				sizeof(one)) < 0))
			goto fail;
		if (proto == IPPROTO_UDP &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off,
			       sizeof(off)) < 0)
			goto fail;
	} else {
		int pmtu = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
			   sizeof(pmtu));
		/* AH: our own IPv4 header, whose immutable fields the ICV
		 * covers (ah_send) */
		if (proto == IPPROTO_AH &&
		    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) <
			0)
			goto fail;
	}
	if (f) {
		struct sock_fprog prog = {.len = (unsigned short)nf,
					  .filter = f};
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			       sizeof(prog)) < 0)
			goto fail;
	}
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

/*
 * -u without an IKE daemon: r2espd binds UDP 4500 itself, so that the
 * kernel does not answer ESP-in-UDP with ICMP port unreachable, and uses
 * the socket for ESP-in-UDP both ways instead of the raw UDP taps (whose
 * filter then drops everything): UDP_GRO on receive, UDP_SEGMENT on
 * send (utx_queue), so that a TSO super-packet's ESP packets cross the
 * sender's and the receiver's stacks as one run.  Not UDP_ENCAP_ESPINUDP:
 * with it the kernel hands each ESP datagram to its XFRM input, which on
 * a kernel without ESP tries an ICMP port unreachable per packet.  Same
 * marks, buffers and PMTU setting as the raw sockets (raw_open).
 */
static int sink_open(int af)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, buf = 4 << 20;
	struct sockaddr_storage ss;
	socklen_t len;
	struct kaddr any = {.af = (uint8_t)af};

	if (fd < 0)
		return -errno;
	fill_dst(&ss, &any, &len);
	/* sin_port and sin6_port share their offset */
	((struct sockaddr_in *)&ss)->sin_port = htons(NAT_T_PORT);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	/* UDP_GRO is an optimisation: without it, one datagram per read */
	setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
	if (af == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			       sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			       sizeof(one)) < 0)
			goto fail;
	} else {
		int pmtu = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
			   sizeof(pmtu));
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) <
		    0)
			goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &(unsigned){ESPD_MARK},
		       sizeof(unsigned)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

/* The raw UDP tap of family f: its RFC 3948 filter, or drop all while
 * a given socket of that family receives ESP-in-UDP. */
static void tap_filter(struct espd *d, int f, bool drop)
{
	static struct sock_filter drop_all[] = {
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = 1, .filter = drop_all};
	int fd = d->out_fd[f ? OUT_UDP6 : OUT_UDP4];

	if (!drop) {
		prog.filter = f ? filt6 : filt4;
		prog.len = f ? sizeof(filt6) / sizeof(filt6[0])
			     : sizeof(filt4) / sizeof(filt4[0]);
	}
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
				  sizeof(prog)) < 0)
		log_warn(MOD, "raw UDP tap filter: %s", strerror(errno));
}

void espd_given_release(struct espd *d)
{
	if (!d->ngiven)
		return;
	espd_tx_flush(d);
	for (unsigned i = 0; i < d->ngiven; i++) {
		ev_del_fd(d->loop, d->given[i]);
		close(d->given[i]);
	}
	for (int f = 0; f < 2; f++) {
		if ((f ? d->sink6 : d->sink4) >= 0)
			tap_filter(d, f, false);
		memset(&d->sink_src[f], 0, sizeof(d->sink_src[f]));
	}
	d->sink4 = d->sink6 = -1;
	d->ngiven = 0;
	d->given_cli = -1;
	log_info(MOD, "ESP-in-UDP back on the raw taps (the IKE daemon's "
		      "sockets were released)");
}

int espd_given(struct espd *d, int cli, int *fds, unsigned n, char *why,
	       size_t whylen)
{
	if (d->sink) {
		snprintf(why, whylen, "r2espd runs with -u (owns UDP 4500)");
		return -EBUSY;
	}
	/* each one: a UDP socket of ours, bound to port 4500 (RFC 3948) */
	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), ol = sizeof(int);
		int dom = 0, type = 0, proto = 0;
		const struct sockaddr_in *s4 = (const void *)&ss;

		if (getsockopt(fds[i], SOL_SOCKET, SO_DOMAIN, &dom, &ol) < 0 ||
		    getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &ol) < 0 ||
		    getsockopt(fds[i], SOL_SOCKET, SO_PROTOCOL, &proto, &ol) <
			0 ||
		    (dom != AF_INET && dom != AF_INET6) || type != SOCK_DGRAM ||
		    proto != IPPROTO_UDP ||
		    getsockname(fds[i], (struct sockaddr *)&ss, &sl) < 0 ||
		    ss.ss_family != dom || ntohs(s4->sin_port) != NAT_T_PORT) {
			snprintf(why, whylen,
				 "descriptor %u is not a UDP socket bound to "
				 "port 4500",
				 i);
			return -EINVAL;
		}
	}
	espd_given_release(d);
	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int f;
		struct kaddr a = {0};

		if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) < 0 ||
		    ev_add_fd(d->loop, fds[i], EPOLLIN, own_rx_cb, d) < 0) {
			close(fds[i]);
			continue;
		}
		d->given[d->ngiven++] = fds[i];
		f = ss.ss_family == AF_INET6;
		if ((f ? d->sink6 : d->sink4) >= 0)
			continue;
		/* the first of each family sends (sink_for) */
		if (f) {
			const struct sockaddr_in6 *s6 = (const void *)&ss;
			static const uint8_t any6[16];
			if (memcmp(&s6->sin6_addr, any6, 16)) {
				a.af = AF_INET6;
				memcpy(a.u.b, &s6->sin6_addr, 16);
			}
			d->sink6 = fds[i];
		} else {
			const struct sockaddr_in *s4 = (const void *)&ss;
			if (s4->sin_addr.s_addr != htonl(INADDR_ANY)) {
				a.af = AF_INET;
				memcpy(a.u.b, &s4->sin_addr, 4);
			}
			d->sink4 = fds[i];
		}
		d->sink_src[f] = a;
		/* the given socket receives that family's ESP-in-UDP (the
		 * KMP gives all its NAT-T sockets' siblings or none) */
		tap_filter(d, f, true);
	}
	d->given_cli = d->ngiven ? cli : -1;
	d->udp_gso = true;
	log_info(MOD,
		 "ESP-in-UDP through %u UDP 4500 socket%s of the IKE daemon "
		 "(UDP GSO/GRO)",
		 d->ngiven, d->ngiven == 1 ? "" : "s");
	return 0;
}

static int tun_open(struct espd *d)
{
	struct ifreq ifr;
	int s, fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (d->offload ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tun_name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	/* The stack may now hand us 64 KiB TCP super-packets, UDP ones
	 * (UDP_SEGMENT sends, Linux >= 6.2: USO) and packets with a
	 * partial checksum; espd_off.c finishes all three.  A kernel
	 * without USO refuses the flags (EINVAL): TSO alone then.  Without
	 * any, the TUN device does segmentation for us, one packet per
	 * read. */
	if (d->offload &&
	    ioctl(fd, TUNSETOFFLOAD,
		  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN |
		      TUN_F_USO4 | TUN_F_USO6) < 0 &&
	    ioctl(fd, TUNSETOFFLOAD,
		  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0)
		log_warn(MOD,
			 "TUN offloads unavailable (%s): one packet per "
			 "read",
			 strerror(errno));
	snprintf(d->tun_name, sizeof(d->tun_name), "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	ifr.ifr_mtu = (int)d->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0 ||
	    ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		close(s);
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		close(s);
		goto fail;
	}
	close(s);
	d->tun_fd = fd;
	d->tun_ifindex = (int)if_nametoindex(d->tun_name);
	return 0;
fail:
	s = -errno;
	close(fd);
	return s;
}

int espd_net_open(struct espd *d)
{
	static const struct {
		int af, proto;
		struct sock_filter *f;
		size_t nf;
	} socks[OUT_N] = {
	    [OUT_ESP4] = {AF_INET, IPPROTO_ESP, NULL, 0},
	    [OUT_ESP6] = {AF_INET6, IPPROTO_ESP, NULL, 0},
	    [OUT_UDP4] = {AF_INET, IPPROTO_UDP, filt4,
			  sizeof(filt4) / sizeof(filt4[0])},
	    [OUT_UDP6] = {AF_INET6, IPPROTO_UDP, filt6,
			  sizeof(filt6) / sizeof(filt6[0])},
	    [OUT_AH4] = {AF_INET, IPPROTO_AH, NULL, 0},
	    [OUT_AH6] = {AF_INET6, IPPROTO_AH, NULL, 0},
	};
	int rc;

	d->sink4 = d->sink6 = d->tun_fd = -1;
	d->given_cli = -1;
	for (int g = 0; g < OUT_N; g++)
		d->out_fd[g] = -1;
	d->rx = calloc(ESPD_BATCH, ESPD_SLOT);
	d->txb = calloc(ESPD_BATCH, ESPD_SLOT);
	d->tunbuf = malloc(TUNBUF);
	d->dec = malloc(ESPD_SLOT);
	d->dec2 = malloc(ESPD_SLOT + AH_MAX_IPHDR);
	d->xo = malloc(2 * ESPD_SLOT);
	off_gro_init(&d->gro, malloc(GROBUF), GROBUF);
	/* for own or given UDP 4500 sockets; pages touched only when used */
	d->urx = malloc((size_t)ESPD_URX_N * ESPD_URX);
	if (!d->rx || !d->txb || !d->tunbuf || !d->dec || !d->dec2 || !d->xo ||
	    !d->gro.buf || !d->urx)
		return -ENOMEM;
	if ((rc = tun_open(d)) < 0) {
		log_err(MOD, "TUN %s: %s%s", d->tun_name, strerror(-rc),
			rc == -EBUSY ? " (another r2espd in this network "
				       "namespace? choose a name with -i)"
			: rc == -ENOENT || rc == -ENODEV
			    ? " (is the tun module available?)"
			    : "");
		return rc;
	}
	for (int g = 0; g < OUT_N; g++) {
		d->out_fd[g] = raw_open(socks[g].af, socks[g].proto, socks[g].f,
					socks[g].nf);
		if (d->out_fd[g] < 0) {
			log_err(MOD, "raw socket %d: %s", g,
				strerror(-d->out_fd[g]));
			return d->out_fd[g];
		}
		if ((rc = ev_add_fd(d->loop, d->out_fd[g], EPOLLIN, rx_cb, d)))
			return rc;
	}
	if (d->sink) {
		static struct sock_filter drop_all[] = {
		    BPF_STMT(BPF_RET | BPF_K, 0),
		};
		struct sock_fprog prog = {.len = 1, .filter = drop_all};
		int *own[2] = {&d->sink4, &d->sink6};

		d->udp_gso = true;
		for (int f = 0; f < 2; f++) {
			int g = f ? OUT_UDP6 : OUT_UDP4;
			*own[f] = sink_open(f ? AF_INET6 : AF_INET);
			if (*own[f] < 0) {
				log_warn(MOD,
					 "cannot bind UDP 4500 (-u): %s; "
					 "ESP-in-UDP through the raw tap",
					 strerror(-*own[f]));
				continue;
			}
			/* the bound socket receives ESP-in-UDP: the
			 * raw tap would only add copies */
			if (setsockopt(d->out_fd[g], SOL_SOCKET,
				       SO_ATTACH_FILTER, &prog,
				       sizeof(prog)) < 0 ||
			    (rc = ev_add_fd(d->loop, *own[f], EPOLLIN,
					    own_rx_cb, d)) < 0) {
				close(*own[f]);
				*own[f] = -1;
				continue;
			}
		}
	}
	d->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	d->nl_seq = (uint32_t)time(NULL);
	/* routes a previous r2espd left on a persistent TUN device */
	rc = (int)espd_purge_routes(d->nl, &d->nl_seq, d->tun_ifindex);
	if (rc)
		log_info(MOD,
			 "removed %d stale route%s left by an earlier "
			 "r2espd",
			 rc, rc == 1 ? "" : "s");
	/* transport mode's policy rules (espd_priv.c) */
	if ((rc = espd_rules(d->nl, &d->nl_seq, true)) < 0)
		log_warn(MOD, "policy rules for transport mode: %s",
			 strerror(-rc));
	return ev_add_fd(d->loop, d->tun_fd, EPOLLIN, tun_cb, d);
}

void espd_net_close(struct espd *d)
{
	espd_given_release(d);
	for (int g = 0; g < OUT_N; g++)
		if (d->out_fd[g] >= 0)
			close(d->out_fd[g]);
	if (d->sink4 >= 0)
		close(d->sink4);
	if (d->sink6 >= 0)
		close(d->sink6);
	if (d->tun_fd >= 0)
		close(d->tun_fd);
	if (d->nl) {
		/* single process (-P); with privsep the parent does it */
		espd_rules(d->nl, &d->nl_seq, false);
		mnl_socket_close(d->nl);
	}
	free(d->rx);
	free(d->txb);
	free(d->tunbuf);
	free(d->dec);
	free(d->dec2);
	free(d->xo);
	free(d->gro.buf);
	free(d->urx);
}

/* ---- routes --------------------------------------------------------- */

static bool in_prefix(const struct kaddr *p, unsigned plen,
		      const struct kaddr *a)
{
	struct ksel s = {.af = p->af, .src = *p, .src_plen = (uint8_t)plen};
	struct ksel f = {.af = a->af, .src = *a};
	return ksel_match_flow(&s, &f);
}

static bool pol_transport(const struct espd_pol *p)
{
	return p->p.ntmpl && p->p.tmpl[0].mode == KMODE_TRANSPORT;
}

int espd_route(struct espd *d, struct espd_pol *pol, bool add)
{
	const struct ksel *s = &pol->p.sel;
	char b[INET6_ADDRSTRLEN];
	bool tr = pol_transport(pol);
	int rc;

	if (!s->af || (s->af != AF_INET && s->af != AF_INET6))
		return 0;
	/* another routed policy with the same destination prefix (and
	 * table) keeps (or already has) the route */
	for (struct espd_pol *p = d->pols; p; p = p->next)
		if (p != pol && p->routed && p->p.sel.af == s->af &&
		    pol_transport(p) == tr &&
		    p->p.sel.dst_plen == s->dst_plen &&
		    in_prefix(&s->dst, s->dst_plen, &p->p.sel.dst)) {
			pol->routed = add;
			return 0;
		}
	if (!add) {
		pol->routed = false;
		rc = espd_rt_request(d, false, tr, s);
		if (rc < 0 && rc != -ESRCH)
			log_warn(MOD, "route del: %s", strerror(-rc));
		return rc;
	}
	/* transport mode: the route is in ESPD_TABLE, behind the rules
	 * that keep IKE, KINK and ESP out of it (espd_priv.c) */
	if (!tr && pol->p.ntmpl &&
	    in_prefix(&s->dst, s->dst_plen, &pol->p.tmpl[0].dst)) {
		log_warn(
		    MOD,
		    "policy %#x covers its own tunnel endpoint %s: "
		    "no route installed (add a bypass route yourself)",
		    pol->p.index,
		    inet_ntop(s->af, pol->p.tmpl[0].dst.u.b, b, sizeof(b)));
		return 0;
	}
	/* the prefix through the TUN device, with a local address of the
	 * source selector as preferred source (espd_priv.c) */
	rc = espd_rt_request(d, true, tr, s);
	if (rc < 0) {
		log_warn(MOD, "route to %s/%u via %s: %s",
			 inet_ntop(s->af, s->dst.u.b, b, sizeof(b)),
			 s->dst_plen, d->tun_name, strerror(-rc));
		return rc;
	}
	pol->routed = true;
	return 0;
}
