/*
 * ikeflood.c - an IKE_SA_INIT flood generator for tests/netns/ike_flood.sh
 * (not installed; a test tool, never point it at a host you do not own).
 *
 *   ikeflood -d DST [-p PORT] -s FIRST_SRC -n NSRC [-c COUNT] [-r RATE]
 *            [-g GROUP] [-t SECS] [-P]
 *
 * Sends COUNT IKE_SA_INIT requests (RFC 7296 §1.2) to DST at RATE per
 * second, from NSRC consecutive source addresses starting at FIRST_SRC
 * (IPv4 or IPv6; -P: IPv6 sources count up in bits 48-63, one per /64;
 * they must be local addresses: one UDP socket sends
 * from each through IP_PKTINFO / IPV6_PKTINFO), round robin.  Like a
 * real initiator it answers a COOKIE notify (§2.6) by sending the same
 * request again with the cookie as its first payload, from the same
 * address; it never sends IKE_AUTH, so every completed IKE_SA_INIT
 * leaves a half-open SA at the responder.
 *
 * The messages are precomputed: one template per mode (with and without
 * a cookie) in which only SPIi and the nonce change.  SPIi encodes the
 * request number and the source index; the nonce is a function of SPIi,
 * so a COOKIE response (which carries SPIi) is enough to rebuild the
 * request.  The KE payload carries a fixed valid public value: the
 * generator g = 2 for MODP groups 14/15, the base point for group 19
 * (ECP-256) and group 31 (Curve25519).  The SA payload offers
 * AES-CBC-128 / HMAC-SHA2-256 / HMAC-SHA2-256-128 / GROUP.
 *
 * Bounded: it stops after COUNT requests plus one second of draining
 * replies, or after SECS seconds (default 60), whichever comes first.
 * Prints one JSON line: sent, cookies (COOKIE notifies received),
 * cookie_resent, answered (IKE_SA_INIT responses with an SA payload),
 * notify (other error notifies), elapsed_s, rate (requests/s achieved).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SRC	   4096
#define NONCE_LEN  32
#define COOKIE_MAX 64

static int af;
static struct sockaddr_storage dst;
static socklen_t dst_len;
static unsigned char srcs[MAX_SRC][16];
static unsigned nsrc;
static int per64; /* -P: IPv6 sources one per /64 */
static int fd;
static uint16_t group = 14;
static unsigned char tmpl[2048];
static size_t tmpl_len, off_spi, off_nonce;
static uint64_t salt;

static uint64_t stat_sent, stat_cookies, stat_resent, stat_answered,
    stat_notify;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The KE public value for the group (see the header comment). */
static size_t ke_value(unsigned char *out)
{
	/* RFC 5903 §3.1 / SEC 2: the ECP-256 generator (x || y). */
	static const unsigned char p256g[64] = {
	    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6,
	    0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb,
	    0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f,
	    0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
	    0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e,
	    0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
	};
	size_t n;

	switch (group) {
	case 14:
	case 15:
		n = group == 14 ? 256 : 384;
		memset(out, 0, n);
		out[n - 1] = 2;
		return n;
	case 19:
		memcpy(out, p256g, sizeof(p256g));
		return sizeof(p256g);
	case 31: /* RFC 7748 §4.1: u = 9 */
		memset(out, 0, 32);
		out[0] = 9;
		return 32;
	}
	return 0;
}

/* Append a generic payload header (RFC 7296 §3.2); returns its offset. */
static size_t pl_hdr(unsigned char *b, size_t o, unsigned next)
{
	b[o] = (unsigned char)next;
	b[o + 1] = 0;
	return o;
}

/* The request template: HDR, [N(COOKIE) placeholder], SA, KE, Ni. */
static void build_template(void)
{
	unsigned char *b = tmpl, ke[512];
	size_t o = 28, p, ke_len = ke_value(ke);
	static const struct {
		unsigned type, id, keylen;
	} tr[4] = {{1, 12, 128}, {2, 5, 0}, {3, 12, 0}, {4, 0, 0}};

	memset(b, 0, sizeof(tmpl));
	/* §3.1 header: SPIi patched per message, SPIr 0. */
	b[16] = 33; /* first payload: SA */
	b[17] = 0x20;
	b[18] = 34;   /* IKE_SA_INIT */
	b[19] = 0x08; /* Initiator */
	off_spi = 0;
	/* SA payload (§3.3) with one IKE proposal of four transforms. */
	p = pl_hdr(b, o, 34);
	o += 4;
	{
		size_t prop = o;

		b[o] = 0;     /* last proposal */
		b[o + 4] = 1; /* proposal 1 */
		b[o + 5] = 1; /* IKE */
		b[o + 6] = 0; /* no SPI */
		b[o + 7] = 4;
		o += 8;
		for (int i = 0; i < 4; i++) {
			size_t t = o;

			b[o] = i == 3 ? 0 : 3;
			b[o + 4] = (unsigned char)tr[i].type;
			put16(b + o + 6, tr[i].type == 4 ? group : tr[i].id);
			o += 8;
			if (tr[i].keylen) {
				/* §3.3.5: Key Length, TV format */
				put16(b + o, 0x8000 | 14);
				put16(b + o + 2, tr[i].keylen);
				o += 4;
			}
			put16(b + t + 2, (unsigned)(o - t));
		}
		put16(b + prop + 2, (unsigned)(o - prop));
	}
	put16(b + p + 2, (unsigned)(o - p));
	/* KE (§3.4) */
	p = pl_hdr(b, o, 40);
	put16(b + o + 4, group);
	memcpy(b + o + 8, ke, ke_len);
	o += 8 + ke_len;
	put16(b + p + 2, (unsigned)(o - p));
	/* Nonce (§3.9), patched per message */
	p = pl_hdr(b, o, 0);
	off_nonce = o + 4;
	o += 4 + NONCE_LEN;
	put16(b + p + 2, (unsigned)(o - p));
	tmpl_len = o;
}

static void nonce_for(uint64_t spi, unsigned char *n)
{
	uint64_t x = spi ^ salt;

	for (int i = 0; i < NONCE_LEN; i += 8) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		put64(n + i, x);
	}
}

/* Send the request for spi (from source index spi & 0xffff), with the
 * cookie as the first payload when cookie_len > 0 (§2.6). */
static int send_req(uint64_t spi, const unsigned char *cookie,
		    size_t cookie_len)
{
	unsigned char pkt[2048 + 8 + COOKIE_MAX];
	unsigned idx = (unsigned)(spi & 0xffff) % nsrc;
	size_t len, shift = cookie_len ? 8 + cookie_len : 0;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;

	memcpy(pkt, tmpl, 28);
	if (cookie_len) {
		unsigned char *nt = pkt + 28;

		pkt[16] = 41; /* N first */
		nt[0] = 33;   /* next: SA */
		nt[1] = 0;
		put16(nt + 2, (unsigned)shift);
		nt[4] = 0;	      /* protocol */
		nt[5] = 0;	      /* SPI size */
		put16(nt + 6, 16390); /* COOKIE */
		memcpy(nt + 8, cookie, cookie_len);
	}
	memcpy(pkt + 28 + shift, tmpl + 28, tmpl_len - 28);
	len = tmpl_len + shift;
	put64(pkt + off_spi, spi);
	put32(pkt + 24, (uint32_t)len);
	nonce_for(spi, pkt + off_nonce + shift);

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = pkt;
	iov.iov_len = len;
	mh.msg_name = &dst;
	mh.msg_namelen = dst_len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	if (af == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, srcs[idx], 4);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, srcs[idx], 16);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, 0) < 0)
		return errno == EAGAIN || errno == ENOBUFS ? 1 : -1;
	return 0;
}

/* One response: a COOKIE gets the request again with it. */
static void on_reply(const unsigned char *b, size_t n)
{
	size_t o = 28;
	unsigned next;

	if (n < 28 || b[18] != 34 || !(b[19] & 0x20))
		return;
	next = b[16];
	while (next && o + 4 <= n) {
		size_t plen = (size_t)b[o + 2] << 8 | b[o + 3];

		if (plen < 4 || o + plen > n)
			return;
		if (next == 33) {
			stat_answered++;
			return;
		}
		if (next == 41 && plen >= 8) {
			unsigned type = (unsigned)b[o + 6] << 8 | b[o + 7];
			size_t spisz = b[o + 5];

			if (type == 16390 && plen >= 8 + spisz + 1 &&
			    plen - 8 - spisz <= COOKIE_MAX) {
				stat_cookies++;
				if (send_req(get64(b), b + o + 8 + spisz,
					     plen - 8 - spisz) == 0)
					stat_resent++;
				return;
			}
			if (type < 16384) {
				stat_notify++;
				return;
			}
		}
		next = b[o];
		o += plen;
	}
}

static void drain(void)
{
	unsigned char b[4096];
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		on_reply(b, (size_t)n);
}

static int parse_src(const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1) {
		uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
			     (uint32_t)a[2] << 8 | a[3];

		for (unsigned i = 0; i < nsrc; i++)
			put32(srcs[i], v + i);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		for (unsigned i = 0; i < nsrc; i++) {
			unsigned v = (unsigned)a[14] << 8 | a[15];

			memcpy(srcs[i], a, 16);
			if (per64) /* bits 48-63: the /64 */
				put16(srcs[i] + 6,
				      ((unsigned)a[6] << 8 | a[7]) + i);
			else
				put16(srcs[i] + 14, v + i);
		}
		return AF_INET6;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: ikeflood -d DST [-p PORT] -s FIRST_SRC -n NSRC "
			"[-c COUNT] [-r RATE] [-g GROUP] [-t SECS] [-P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dsts = NULL, *srcs_s = NULL;
	unsigned port = 500, count = 50000, rate = 10000, secs = 60;
	double t0, deadline, last_send = 0;
	uint64_t seq = 0;
	int opt, one = 1;

	while ((opt = getopt(argc, argv, "d:p:s:n:c:r:g:t:P")) != -1) {
		switch (opt) {
		case 'P':
			per64 = 1;
			break;
		case 'd':
			dsts = optarg;
			break;
		case 'p':
			port = (unsigned)atoi(optarg);
			break;
		case 's':
			srcs_s = optarg;
			break;
		case 'n':
			nsrc = (unsigned)atoi(optarg);
			break;
		case 'c':
			count = (unsigned)atoi(optarg);
			break;
		case 'r':
			rate = (unsigned)atoi(optarg);
			break;
		case 'g':
			group = (uint16_t)atoi(optarg);
			break;
		case 't':
			secs = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!dsts || !srcs_s || !nsrc || nsrc > MAX_SRC || !rate || !secs ||
	    secs > 600)
		usage();
	af = parse_src(srcs_s);
	memset(&dst, 0, sizeof(dst));
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&dst;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, dsts, &s4->sin_addr) != 1)
			usage();
		dst_len = sizeof(*s4);
	} else if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&dst;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, dsts, &s6->sin6_addr) != 1)
			usage();
		dst_len = sizeof(*s6);
	} else {
		usage();
	}
	build_template();
	if (!tmpl_len || tmpl_len < 40)
		usage();
	salt =
	    (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);

	fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	{
		int sz = 4 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	/* Replies come back to whichever of our addresses sent. */
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));

	t0 = now_s();
	deadline = t0 + secs;
	while (now_s() < deadline) {
		double t = now_s();
		/* Requests due by now at RATE per second. */
		uint64_t due = (uint64_t)((t - t0) * rate) + 1;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (due > count)
			due = count;
		while (seq < due) {
			/* SPIi: request number, source index in the low 16
			 * bits, never 0. */
			uint64_t spi = ((seq + 1) << 16 | (seq % nsrc)) ^
				       (salt & 0xffffffff00000000ull);
			int rc = send_req(spi, NULL, 0);

			if (rc > 0)
				break; /* socket full: next round */
			if (rc < 0) {
				perror("sendmsg");
				return 1;
			}
			seq++;
			stat_sent++;
			last_send = now_s();
		}
		drain();
		if (seq >= count && now_s() - last_send > 1.0)
			break;
		poll(&pfd, 1, 1);
	}
	{
		double el = last_send > t0 ? last_send - t0 : now_s() - t0;

		printf("{\"sent\":%llu,\"cookies\":%llu,\"cookie_resent\":%llu,"
		       "\"answered\":%llu,\"notify\":%llu,\"elapsed_s\":%.3f,"
		       "\"rate\":%.0f}\n",
		       (unsigned long long)stat_sent,
		       (unsigned long long)stat_cookies,
		       (unsigned long long)stat_resent,
		       (unsigned long long)stat_answered,
		       (unsigned long long)stat_notify, el,
		       el > 0 ? (double)stat_sent / el : 0.0);
	}
	close(fd);
	return 0;
}
