/*
 * pcap.c - racoon2's iked -P FILE: every IKE datagram iked sends or
 * receives, written to a pcap file (LINKTYPE_RAW: an IPv4 or IPv6
 * header and a UDP header built from the endpoints, then the UDP
 * payload as on the wire, with the non-ESP marker on port 4500).
 * "+FILE" appends.  The file is opened before the engine's sandbox and
 * only written afterwards (write(2) is in the base allowlist).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ike/iked.h"
#include "lib/log.h"

#define MOD "pcap"

#define PCAP_MAGIC	  0xa1b2c3d4u
#define PCAP_LINKTYPE_RAW 101
#define PCAP_SNAPLEN	  65535

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

int ike_pcap_open(struct iked *d, const char *spec)
{
	bool append = spec[0] == '+';
	const char *path = append ? spec + 1 : spec;
	struct stat st;
	int fd;

	fd = open(path,
		  O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		      (append ? O_APPEND : O_TRUNC),
		  0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		/* the pcap global header, host byte order */
		uint32_t h[6] = {PCAP_MAGIC, 0x00040002u,  0,
				 0,	     PCAP_SNAPLEN, PCAP_LINKTYPE_RAW};

		if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h)) {
			int e = errno ? errno : EIO;

			close(fd);
			return -e;
		}
	}
	d->pcap_fd = fd;
	d->pcap_on = true;
	log_warn(MOD, "writing IKE packets to %s (they carry no keys)", path);
	return 0;
}

void ike_pcap_close(struct iked *d)
{
	if (d->pcap_on)
		close(d->pcap_fd);
	d->pcap_on = false;
}

void ike_pcap_write(struct iked *d, const struct ike_ep *src,
		    const struct ike_ep *dst, const uint8_t *pkt, size_t len)
{
	uint8_t ip[40], udp[8];
	uint32_t rec[4];
	struct timespec ts;
	struct iovec iov[4];
	size_t iplen, ulen = 8 + len;
	uint8_t af = dst->addr.af ? dst->addr.af : src->addr.af;

	if (!d->pcap_on || ulen > PCAP_SNAPLEN - 40)
		return;
	memset(ip, 0, sizeof(ip));
	put16(udp, src->port);
	put16(udp + 2, dst->port);
	put16(udp + 4, (uint16_t)ulen);
	put16(udp + 6, 0);
	if (af == AF_INET6) {
		uint32_t acc;

		iplen = 40;
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)ulen);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		memcpy(ip + 8, src->addr.u.b, 16);
		memcpy(ip + 24, dst->addr.u.b, 16);
		/* RFC 8200 section 8.1: the UDP checksum is mandatory */
		acc = sum(0, ip + 8, 32) + (uint32_t)ulen + IPPROTO_UDP;
		acc = sum(acc, udp, 8);
		acc = sum(acc, pkt, len);
		put16(udp + 6, fold(acc) ? fold(acc) : 0xffff);
	} else {
		iplen = 20;
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + ulen));
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, src->addr.u.b, 4);
		memcpy(ip + 16, dst->addr.u.b, 4);
		put16(ip + 10, fold(sum(0, ip, 20)));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rec[0] = (uint32_t)ts.tv_sec;
	rec[1] = (uint32_t)(ts.tv_nsec / 1000);
	rec[2] = rec[3] = (uint32_t)(iplen + ulen);
	iov[0] = (struct iovec){rec, sizeof(rec)};
	iov[1] = (struct iovec){ip, iplen};
	iov[2] = (struct iovec){udp, sizeof(udp)};
	iov[3] = (struct iovec){(void *)pkt, len};
	if (writev(d->pcap_fd, iov, 4) < 0)
		log_rl_warn(MOD, "writing the pcap file: %s", strerror(errno));
}
