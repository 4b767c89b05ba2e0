/*
 * kxfrm-tool.c - tiny driver of the kernel layer for the netns scenario
 * tests (tests/netns/kernel_*.sh).  Not installed.
 *
 *   kxfrm-tool [-b backend] pol-add DIR SRC/PLEN DST/PLEN [opts] [tmpl ...]
 *       opts: proto N | sport N | dport N | prio N | index N |
 *             action ipsec|discard|bypass | expire SEC
 *       tmpl PROTO(esp|ah|comp) MODE(transport|tunnel)
 *            LEVEL(require|use|unique) REQID [TSRC TDST]
 *   kxfrm-tool pol-update ...   (same arguments)
 *   kxfrm-tool pol-dump
 *   kxfrm-tool pol-del DIR INDEX
 *   kxfrm-tool flush-own
 *   kxfrm-tool bench N        (adds N transport policies 10.x -> 10.y,
 *                              prints the time taken; flush-own after)
 *   kxfrm-tool sa-add KEY VALUE ...     (see parse_sa below)
 *   kxfrm-tool sa-roundtrip KEY VALUE ...   (fake backend: add, read back,
 *                                          compare every field)
 *   kxfrm-tool getspi SRC DST [reqid N] [proto esp|ah|comp]
 *   kxfrm-tool migrate DIR SRC/PLEN DST/PLEN [proto N] PAIR...
 *       PAIR: PROTO MODE REQID OLDSRC OLDDST NEWSRC NEWDST
 *       (k_migrate; prints "ok" or the kernel's error)
 *   kxfrm-tool sa-add-noalg KEY VALUE ...  (the SA message with its
 *                                          algorithm attributes cut off:
 *                                          the kernel must refuse it in
 *                                          validation; prints its reply)
 *   kxfrm-tool events TIMEOUT_MS [COUNT]   (prints "ready", then events)
 *   kxfrm-tool events-overflow SETTLE_MS TIMEOUT_MS  (shrinks the event
 *                                          socket's queue, prints "ready",
 *                                          reads nothing for SETTLE_MS,
 *                                          then events until a RESYNC)
 *   kxfrm-tool capture DIR TIMEOUT_MS COUNT  (raw event datagrams to
 *                                          DIR/event-N.bin, for the fuzz
 *                                          corpus; prints "ready")
 *   kxfrm-tool capture-replies DIR         (raw replies to a policy dump,
 *                                          ALLOCSPI, GETSA and a failing
 *                                          NEWSA to DIR/reply-N.bin)
 *
 * Exit status: 0 ok, 2 operation failed (the reason is printed as
 * "error: ERRNO_NAME: last_error"), 1 usage.
 */
#include "crypto/xform.h"
#include "kernel/kernel.h"
#include "kernel/xfrm_msg.h"
#include "lib/log.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include <errno.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *backend = "xfrm";

static void usage(void)
{
	fprintf(stderr, "usage: kxfrm-tool [-b backend] COMMAND ARGS "
			"(see source header)\n");
	exit(1);
}

static const char *errname(int e)
{
	switch (e) {
	case EPROTONOSUPPORT:
		return "EPROTONOSUPPORT";
	case ENOSYS:
		return "ENOSYS";
	case EEXIST:
		return "EEXIST";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EINVAL:
		return "EINVAL";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENODATA:
		return "ENODATA";
	case ENOPROTOOPT:
		return "ENOPROTOOPT";
	default:
		return "E?";
	}
}

static int fail(struct kernel *k, int rc)
{
	printf("error: %s: %s\n", errname(-rc), k->last_error);
	return 2;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "bad number \"%s\"\n", s);
		exit(1);
	}
	return v;
}

static void addr(const char *s, struct kaddr *a)
{
	if (kaddr_parse(s, a) < 0) {
		fprintf(stderr, "bad address \"%s\"\n", s);
		exit(1);
	}
}

static void prefix(const char *s, struct kaddr *a, uint8_t *plen)
{
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	addr(buf, a);
	*plen = slash ? (uint8_t)num(slash) : (a->af == AF_INET ? 32 : 128);
}

static enum kdir dir_of(const char *s)
{
	if (!strcmp(s, "in"))
		return KDIR_IN;
	if (!strcmp(s, "out"))
		return KDIR_OUT;
	if (!strcmp(s, "fwd"))
		return KDIR_FWD;
	usage();
	return KDIR_IN;
}

static const char *dir_str(enum kdir d)
{
	return d == KDIR_IN ? "in" : d == KDIR_OUT ? "out" : "fwd";
}

static uint8_t proto_of(const char *s)
{
	if (!strcmp(s, "esp"))
		return IPPROTO_ESP;
	if (!strcmp(s, "ah"))
		return IPPROTO_AH;
	if (!strcmp(s, "comp"))
		return IPPROTO_COMP;
	return (uint8_t)num(s);
}

static const char *proto_str(uint8_t p)
{
	return p == IPPROTO_ESP	   ? "esp"
	       : p == IPPROTO_AH   ? "ah"
	       : p == IPPROTO_COMP ? "comp"
				   : "?";
}

static void parse_policy(int argc, char **argv, struct kpolicy *p)
{
	int i = 3;

	memset(p, 0, sizeof(*p));
	if (argc < 3)
		usage();
	p->dir = dir_of(argv[0]);
	prefix(argv[1], &p->sel.src, &p->sel.src_plen);
	prefix(argv[2], &p->sel.dst, &p->sel.dst_plen);
	p->sel.af = p->sel.src.af;
	p->action = KPOL_BYPASS;
	while (i < argc) {
		const char *kw = argv[i];

		if (!strcmp(kw, "tmpl")) {
			struct ktmpl *t;

			if (i + 4 >= argc || p->ntmpl >= KPOL_MAX_TMPL)
				usage();
			t = &p->tmpl[p->ntmpl++];
			t->proto = proto_of(argv[i + 1]);
			t->mode = !strcmp(argv[i + 2], "tunnel")
				      ? KMODE_TUNNEL
				      : KMODE_TRANSPORT;
			t->level = !strcmp(argv[i + 3], "use") ? KLEVEL_USE
				   : !strcmp(argv[i + 3], "unique")
				       ? KLEVEL_UNIQUE
				       : KLEVEL_REQUIRE;
			t->reqid = (uint32_t)num(argv[i + 4]);
			i += 5;
			if (t->mode == KMODE_TUNNEL) {
				if (i + 1 >= argc)
					usage();
				addr(argv[i], &t->src);
				addr(argv[i + 1], &t->dst);
				i += 2;
			}
			p->action = KPOL_IPSEC;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(kw, "proto"))
			p->sel.proto = (uint8_t)num(argv[i + 1]);
		else if (!strcmp(kw, "sport"))
			p->sel.sport = (uint16_t)num(argv[i + 1]),
			p->sel.sport_mask = 0xffff;
		else if (!strcmp(kw, "dport"))
			p->sel.dport = (uint16_t)num(argv[i + 1]),
			p->sel.dport_mask = 0xffff;
		else if (!strcmp(kw, "prio"))
			p->priority = (uint32_t)num(argv[i + 1]);
		else if (!strcmp(kw, "index"))
			p->index = (uint32_t)num(argv[i + 1]);
		else if (!strcmp(kw, "expire"))
			p->hard_add_expires_sec = num(argv[i + 1]);
		else if (!strcmp(kw, "action"))
			p->action =
			    !strcmp(argv[i + 1], "discard") ? KPOL_DISCARD
			    : !strcmp(argv[i + 1], "ipsec") ? KPOL_IPSEC
							    : KPOL_BYPASS;
		else
			usage();
		i += 2;
	}
}

static int print_policy(const struct kpolicy *p, void *arg)
{
	char sel[200], a[64], b[64];

	(void)arg;
	printf("index=0x%08x owned=%s dir=%s prio=%u action=%s sel=%s",
	       p->index, p->owned ? "true" : "false", dir_str(p->dir),
	       p->priority,
	       p->action == KPOL_IPSEC	   ? "ipsec"
	       : p->action == KPOL_DISCARD ? "discard"
					   : "bypass",
	       ksel_str(&p->sel, sel, sizeof(sel)));
	for (unsigned i = 0; i < p->ntmpl; i++) {
		const struct ktmpl *t = &p->tmpl[i];
		printf(" tmpl=%s/%s/%s/%u", proto_str(t->proto),
		       t->mode == KMODE_TUNNEL ? "tunnel" : "transport",
		       t->level == KLEVEL_USE	   ? "use"
		       : t->level == KLEVEL_UNIQUE ? "unique"
						   : "require",
		       t->reqid);
		if (t->mode == KMODE_TUNNEL)
			printf("/%s-%s", kaddr_str(&t->src, a, sizeof(a)),
			       kaddr_str(&t->dst, b, sizeof(b)));
	}
	printf("\n");
	return 0;
}

static int hexkey(const char *s, uint8_t *out, uint16_t *len)
{
	size_t n = strlen(s);

	if (!strncmp(s, "0x", 2))
		s += 2, n -= 2;
	if (n % 2 || n / 2 > KSA_MAX_KEY)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = (uint16_t)(n / 2);
	return 0;
}

/*
 * KEY VALUE pairs: src A dst B spi N proto esp|ah mode transport|tunnel
 * reqid N encr ID keybits N key HEX integ ID authkey HEX esn 0|1
 * replay N encap SPORT:DPORT oa ADDR sel SRC/PLEN,DST/PLEN
 * soft-bytes N hard-bytes N soft-packets N hard-packets N
 * soft-add N hard-add N soft-use N hard-use N update 0|1
 */
static void parse_sa(int argc, char **argv, struct ksa *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->proto = IPPROTO_ESP;
	if (argc % 2)
		usage();
	for (int i = 0; i < argc; i += 2) {
		const char *kw = argv[i], *v = argv[i + 1];

		if (!strcmp(kw, "src"))
			addr(v, &sa->src);
		else if (!strcmp(kw, "dst"))
			addr(v, &sa->dst);
		else if (!strcmp(kw, "spi"))
			sa->spi = (uint32_t)num(v);
		else if (!strcmp(kw, "proto"))
			sa->proto = proto_of(v);
		else if (!strcmp(kw, "mode"))
			sa->mode = !strcmp(v, "tunnel") ? KMODE_TUNNEL
							: KMODE_TRANSPORT;
		else if (!strcmp(kw, "reqid"))
			sa->reqid = (uint32_t)num(v);
		else if (!strcmp(kw, "encr"))
			sa->encr_id = (uint16_t)num(v);
		else if (!strcmp(kw, "keybits"))
			sa->encr_keybits = (uint16_t)num(v);
		else if (!strcmp(kw, "key")) {
			if (hexkey(v, sa->enc_key, &sa->enc_key_len) < 0)
				usage();
		} else if (!strcmp(kw, "integ"))
			sa->integ_id = (uint16_t)num(v);
		else if (!strcmp(kw, "authkey")) {
			if (hexkey(v, sa->auth_key, &sa->auth_key_len) < 0)
				usage();
		} else if (!strcmp(kw, "comp"))
			sa->comp_id = !strcmp(v, "deflate")
					  ? IKEV2_IPCOMP_DEFLATE
					  : (uint16_t)num(v);
		else if (!strcmp(kw, "esn"))
			sa->esn = num(v) != 0;
		else if (!strcmp(kw, "replay"))
			sa->replay_window = (uint32_t)num(v);
		else if (!strcmp(kw, "encap")) {
			unsigned sp, dp;
			if (sscanf(v, "%u:%u", &sp, &dp) != 2)
				usage();
			sa->encap.enabled = true;
			sa->encap.sport = (uint16_t)sp;
			sa->encap.dport = (uint16_t)dp;
		} else if (!strcmp(kw, "oa"))
			addr(v, &sa->encap.oa);
		else if (!strcmp(kw, "sel")) {
			char buf[128], *comma;
			snprintf(buf, sizeof(buf), "%s", v);
			comma = strchr(buf, ',');
			if (!comma)
				usage();
			*comma++ = '\0';
			prefix(buf, &sa->sel.src, &sa->sel.src_plen);
			prefix(comma, &sa->sel.dst, &sa->sel.dst_plen);
			sa->sel.af = sa->sel.src.af;
		} else if (!strcmp(kw, "soft-bytes"))
			sa->lft.soft_bytes = num(v);
		else if (!strcmp(kw, "hard-bytes"))
			sa->lft.hard_bytes = num(v);
		else if (!strcmp(kw, "soft-packets"))
			sa->lft.soft_packets = num(v);
		else if (!strcmp(kw, "hard-packets"))
			sa->lft.hard_packets = num(v);
		else if (!strcmp(kw, "soft-add"))
			sa->lft.soft_add_sec = num(v);
		else if (!strcmp(kw, "hard-add"))
			sa->lft.hard_add_sec = num(v);
		else if (!strcmp(kw, "soft-use"))
			sa->lft.soft_use_sec = num(v);
		else if (!strcmp(kw, "hard-use"))
			sa->lft.hard_use_sec = num(v);
		else if (!strcmp(kw, "update"))
			sa->update = num(v) != 0;
		else
			usage();
	}
}

#define SAME(f)                                                                \
	do {                                                                   \
		if (a->f != b->f) {                                            \
			printf("differs: %s\n", #f);                           \
			ok = false;                                            \
		}                                                              \
	} while (0)

static bool sa_identical(const struct ksa *a, const struct ksa *b)
{
	bool ok = true;

	SAME(proto);
	SAME(spi);
	SAME(mode);
	SAME(reqid);
	SAME(encr_id);
	SAME(encr_keybits);
	SAME(integ_id);
	SAME(comp_id);
	SAME(enc_key_len);
	SAME(auth_key_len);
	SAME(esn);
	SAME(replay_window);
	SAME(encap.enabled);
	SAME(encap.sport);
	SAME(encap.dport);
	SAME(lft.soft_bytes);
	SAME(lft.hard_bytes);
	SAME(lft.soft_packets);
	SAME(lft.hard_packets);
	SAME(lft.soft_add_sec);
	SAME(lft.hard_add_sec);
	SAME(lft.soft_use_sec);
	SAME(lft.hard_use_sec);
	if (!kaddr_eq(&a->src, &b->src) || !kaddr_eq(&a->dst, &b->dst) ||
	    !kaddr_eq(&a->encap.oa, &b->encap.oa) ||
	    !ksel_eq(&a->sel, &b->sel) ||
	    memcmp(a->enc_key, b->enc_key, a->enc_key_len) ||
	    memcmp(a->auth_key, b->auth_key, a->auth_key_len)) {
		printf("differs: addresses, selector or keys\n");
		ok = false;
	}
	return ok;
}

static void print_event(const struct kevent *ev, void *arg)
{
	char s[200], a[64], b[64];

	(void)arg;
	switch (ev->type) {
	case KEV_ACQUIRE:
		printf("ACQUIRE sel=%s src=%s dst=%s dir=%s index=0x%08x "
		       "proto=%s reqid=%u\n",
		       ksel_str(&ev->u.acquire.sel, s, sizeof(s)),
		       kaddr_str(&ev->u.acquire.src, a, sizeof(a)),
		       kaddr_str(&ev->u.acquire.dst, b, sizeof(b)),
		       dir_str(ev->u.acquire.dir), ev->u.acquire.pol_index,
		       proto_str(ev->u.acquire.tmpl.proto),
		       ev->u.acquire.tmpl.reqid);
		break;
	case KEV_EXPIRE:
		printf("EXPIRE spi=0x%08x dst=%s hard=%d\n", ev->u.expire.spi,
		       kaddr_str(&ev->u.expire.dst, a, sizeof(a)),
		       ev->u.expire.hard);
		break;
	case KEV_POL_EXPIRE:
		printf("POLEXPIRE index=0x%08x dir=%s hard=%d\n",
		       ev->u.pol_expire.index, dir_str(ev->u.pol_expire.dir),
		       ev->u.pol_expire.hard);
		break;
	case KEV_RESYNC:
		printf("RESYNC reason=%s\n", ev->u.resync.reason);
		break;
	case KEV_MIGRATE:
		printf("MIGRATE sel=%s dir=%s n=%u",
		       ksel_str(&ev->u.migrate.sel, s, sizeof(s)),
		       dir_str(ev->u.migrate.dir), ev->u.migrate.n);
		for (unsigned i = 0; i < ev->u.migrate.n; i++) {
			const struct kmigrate *m = &ev->u.migrate.m[i];
			char c[64], d[64];

			printf(" [%s %s reqid=%u %s->%s => %s->%s]",
			       proto_str(m->proto),
			       m->mode == KMODE_TUNNEL ? "tunnel" : "transport",
			       m->reqid, kaddr_str(&m->old_src, a, sizeof(a)),
			       kaddr_str(&m->old_dst, b, sizeof(b)),
			       kaddr_str(&m->new_src, c, sizeof(c)),
			       kaddr_str(&m->new_dst, d, sizeof(d)));
		}
		printf("\n");
		break;
	default:
		printf("EVENT type=%d\n", (int)ev->type);
	}
	fflush(stdout);
}

static int resyncs;
static void count_event(const struct kevent *ev, void *arg)
{
	if (ev->type == KEV_RESYNC)
		resyncs++;
	print_event(ev, arg);
}

/* The queue of the event socket overflows while nobody reads (ENOBUFS):
 * the backend must turn that into one KEV_RESYNC per burst. */
static int cmd_events_overflow(struct kernel *k, int argc, char **argv)
{
	int one = 1, settle, timeout;
	struct timespec ts;
	uint64_t end;

	if (argc < 2)
		usage();
	settle = (int)num(argv[0]);
	timeout = (int)num(argv[1]);
	/* the kernel rounds this up to its minimum: a few messages */
	if (setsockopt(k_event_fd(k), SOL_SOCKET, SO_RCVBUF, &one,
		       sizeof(one)) < 0) {
		printf("error: SO_RCVBUF: %s\n", strerror(errno));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	poll(NULL, 0, settle);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	      (uint64_t)timeout;
	while (!resyncs) {
		struct pollfd pfd = {k_event_fd(k), POLLIN, 0};
		uint64_t now;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now =
		    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (now >= end) {
			printf("timeout\n");
			return 2;
		}
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		rc = k_event_read(k, count_event, NULL);
		if (rc < 0)
			return fail(k, rc);
	}
	printf("resyncs=%d\n", resyncs);
	return 0;
}

static int cmd_events(struct kernel *k, int argc, char **argv)
{
	int timeout, want, got = 0;
	uint64_t end;
	struct timespec ts;

	if (argc < 1)
		usage();
	timeout = (int)num(argv[0]);
	want = argc > 1 ? (int)num(argv[1]) : 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	      (uint64_t)timeout;
	printf("ready\n");
	fflush(stdout);
	while (got < want) {
		struct pollfd pfd = {k_event_fd(k), POLLIN, 0};
		uint64_t now;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now =
		    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (now >= end) {
			printf("timeout\n");
			return 2;
		}
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		rc = k_event_read(k, print_event, NULL);
		if (rc < 0)
			return fail(k, rc);
		got += rc;
	}
	return 0;
}

static void save(const char *dir, const char *kind, int n, const void *p,
		 size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d.bin", dir, kind, n);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static struct mnl_socket *raw_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_XFRM);

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		exit(2);
	}
	return nl;
}

static int cmd_capture(int argc, char **argv)
{
	static const unsigned groups[] = {XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE,
					  XFRMNLGRP_MIGRATE, XFRMNLGRP_MAPPING};
	static uint8_t buf[65536];
	struct mnl_socket *nl;
	int want, got = 0, timeout;

	if (argc != 3)
		usage();
	timeout = (int)num(argv[1]);
	want = (int)num(argv[2]);
	nl = raw_open();
	for (size_t i = 0; i < 4; i++) {
		unsigned g = groups[i];
		mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &g,
				      sizeof(g));
	}
	printf("ready\n");
	fflush(stdout);
	while (got < want) {
		struct pollfd pfd = {mnl_socket_get_fd(nl), POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, timeout) <= 0)
			break;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			break;
		save(argv[0], "event", got++, buf, (size_t)n);
	}
	mnl_socket_close(nl);
	printf("captured=%d\n", got);
	return got == want ? 0 : 2;
}

/* Sends one request and saves every datagram until ERROR/DONE. */
static int exchange(struct mnl_socket *nl, const char *dir, int *n,
		    uint8_t *req, int len, bool until_done)
{
	static uint8_t buf[65536];
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;

	nlh->nlmsg_flags |= until_done ? 0 : NLM_F_ACK;
	if (len < 0 || mnl_socket_sendto(nl, req, (size_t)len) < 0)
		return -1;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		struct rd st;
		struct xnl_msg m;
		bool end = false;

		if (r <= 0)
			return -1;
		save(dir, "reply", (*n)++, buf, (size_t)r);
		st = rd_init(buf, (size_t)r);
		while (xnl_next(&st, &m) > 0)
			if (m.type == NLMSG_ERROR || m.type == NLMSG_DONE)
				end = true;
		if (end)
			return 0;
	}
}

static int cmd_capture_replies(int argc, char **argv)
{
	uint8_t req[XNL_REQ_MAX];
	struct mnl_socket *nl;
	struct kaddr s, d;
	struct ksa sa;
	int n = 0, one = 1;

	if (argc != 1)
		usage();
	nl = raw_open();
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	kaddr_parse("198.51.100.1", &s);
	kaddr_parse("198.51.100.2", &d);
	exchange(nl, argv[0], &n, req, xnl_build_poldump(req, sizeof(req), 1),
		 true);
	exchange(nl, argv[0], &n, req,
		 xnl_build_allocspi(req, sizeof(req), 2, IPPROTO_ESP, &s, &d, 5,
				    0x100, 0x100),
		 false);
	exchange(nl, argv[0], &n, req,
		 xnl_build_sa_id(req, sizeof(req), 3, XFRM_MSG_GETSA,
				 IPPROTO_ESP, &d, 0x100),
		 false);
	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_ESP;
	sa.spi = 0x200;
	sa.src = s;
	sa.dst = d;
	sa.encr_id = 12;
	sa.encr_keybits = 128;
	sa.enc_key_len = 16;
	exchange(nl, argv[0], &n, req,
		 xnl_build_sa(req, sizeof(req), 4, &sa, NULL, 0), false);
	mnl_socket_close(nl);
	printf("captured=%d\n", n);
	return 0;
}

static int cmd_sa_noalg(int argc, char **argv)
{
	uint8_t req[XNL_REQ_MAX], buf[8192];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;
	struct ksa sa;
	struct rd st;
	struct xnl_msg m;
	char ext[128];
	int len, one = 1, err = 0;
	ssize_t r;

	parse_sa(argc, argv, &sa);
	len = xnl_build_sa(req, sizeof(req), 1, &sa, NULL, 0);
	ksa_wipe(&sa);
	if (len < 0)
		return 2;
	/* keep only the netlink header and struct xfrm_usersa_info */
	nlh->nlmsg_len =
	    (uint32_t)(NLMSG_HDRLEN +
		       NLMSG_ALIGN(sizeof(struct xfrm_usersa_info)));
	nl = raw_open();
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_sendto(nl, req, nlh->nlmsg_len) < 0 ||
	    (r = mnl_socket_recvfrom(nl, buf, sizeof(buf))) <= 0)
		return 2;
	st = rd_init(buf, (size_t)r);
	if (xnl_next(&st, &m) != 1 ||
	    xnl_parse_error(&m, &err, ext, sizeof(ext)) < 0)
		return 2;
	printf("kernel: %s: %s (%s)\n", errname(-err), strerror(-err), ext);
	mnl_socket_close(nl);
	return 0;
}

int main(int argc, char **argv)
{
	struct kernel k;
	const char *cmd;
	unsigned flags = 0;
	int rc, ret = 0;

	log_init("kxfrm-tool", LOG_TO_STDERR, LOG_LVL_ERR);
	if (argc > 2 && !strcmp(argv[1], "-b")) {
		backend = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		usage();
	cmd = argv[1];
	argv += 2;
	argc -= 2;
	if (!strcmp(cmd, "capture"))
		return cmd_capture(argc, argv);
	if (!strcmp(cmd, "sa-add-noalg"))
		return cmd_sa_noalg(argc, argv);
	if (!strcmp(cmd, "capture-replies"))
		return cmd_capture_replies(argc, argv);
	if (!strcmp(cmd, "sa-roundtrip"))
		backend = "fake";
	if (!strcmp(cmd, "events") || !strcmp(cmd, "events-overflow"))
		flags |= K_OPEN_EVENTS;
	rc = k_open(&k, backend, flags);
	if (rc < 0) {
		printf("error: %s: %s\n", errname(-rc), k.last_error);
		return 2;
	}
	if (!strcmp(cmd, "pol-add") || !strcmp(cmd, "pol-update")) {
		struct kpolicy p;

		parse_policy(argc, argv, &p);
		rc = cmd[4] == 'a' ? k_pol_add(&k, &p) : k_pol_update(&k, &p);
		if (rc < 0)
			ret = fail(&k, rc);
		else
			printf("index=0x%08x\n", p.index);
	} else if (!strcmp(cmd, "pol-dump")) {
		rc = k_pol_dump(&k, print_policy, NULL);
		if (rc < 0)
			ret = fail(&k, rc);
	} else if (!strcmp(cmd, "pol-del")) {
		struct kpolicy p;

		if (argc != 2)
			usage();
		memset(&p, 0, sizeof(p));
		p.dir = dir_of(argv[0]);
		p.index = (uint32_t)num(argv[1]);
		rc = k_pol_del(&k, &p);
		if (rc < 0)
			ret = fail(&k, rc);
	} else if (!strcmp(cmd, "bench")) {
		struct timespec t0, t1;
		unsigned long n;

		if (argc != 1)
			usage();
		n = num(argv[0]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (unsigned long i = 0; i < n && !ret; i++) {
			struct kpolicy p;

			memset(&p, 0, sizeof(p));
			p.dir = KDIR_OUT;
			p.sel.af = AF_INET;
			p.sel.src.af = p.sel.dst.af = AF_INET;
			p.sel.src.u.v4.s_addr =
			    htonl(0x0a000000u | (uint32_t)i);
			p.sel.dst.u.v4.s_addr =
			    htonl(0x0b000000u | (uint32_t)i);
			p.sel.src_plen = p.sel.dst_plen = 32;
			p.action = KPOL_IPSEC;
			p.ntmpl = 1;
			p.tmpl[0].proto = IPPROTO_ESP;
			p.tmpl[0].reqid = (uint32_t)i + 1;
			rc = k_pol_add(&k, &p);
			if (rc < 0)
				ret = fail(&k, rc);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("seconds=%.3f\n", (double)(t1.tv_sec - t0.tv_sec) +
					     (t1.tv_nsec - t0.tv_nsec) / 1e9);
	} else if (!strcmp(cmd, "flush-own")) {
		rc = k_flush_own(&k);
		if (rc < 0)
			ret = fail(&k, rc);
		else
			printf("removed=%d\n", rc);
	} else if (!strcmp(cmd, "sa-add") || !strcmp(cmd, "sa-roundtrip")) {
		struct ksa sa, back;

		parse_sa(argc, argv, &sa);
		rc = k_sa_add(&k, &sa);
		if (rc < 0) {
			ret = fail(&k, rc);
		} else if (!strcmp(cmd, "sa-add")) {
			printf("ok\n");
		} else {
			rc = k_sa_get(&k, sa.proto, &sa.dst, sa.spi, &back,
				      NULL);
			if (rc < 0)
				ret = fail(&k, rc);
			else if (sa.update = false, sa_identical(&sa, &back))
				printf("identical\n");
			else
				ret = 2;
			ksa_wipe(&back);
		}
		ksa_wipe(&sa);
	} else if (!strcmp(cmd, "getspi")) {
		struct kaddr s, d;
		uint32_t spi, reqid = 0;
		uint8_t proto = IPPROTO_ESP;

		if (argc < 2)
			usage();
		addr(argv[0], &s);
		addr(argv[1], &d);
		for (int i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "reqid"))
				reqid = (uint32_t)num(argv[i + 1]);
			else if (!strcmp(argv[i], "proto"))
				proto = proto_of(argv[i + 1]);
			else
				usage();
		}
		rc = k_getspi(&k, proto, &s, &d, reqid, &spi);
		if (rc < 0)
			ret = fail(&k, rc);
		else
			printf("spi=0x%08x\n", spi);
	} else if (!strcmp(cmd, "migrate")) {
		struct kmigrate_req r;
		int i = 3;

		memset(&r, 0, sizeof(r));
		if (argc < 3)
			usage();
		r.dir = dir_of(argv[0]);
		prefix(argv[1], &r.sel.src, &r.sel.src_plen);
		prefix(argv[2], &r.sel.dst, &r.sel.dst_plen);
		r.sel.af = r.sel.src.af;
		if (i + 1 < argc && !strcmp(argv[i], "proto")) {
			r.sel.proto = (uint8_t)num(argv[i + 1]);
			i += 2;
		}
		while (i < argc) {
			struct kmigrate *m;

			if (i + 7 > argc || r.n >= KMIGRATE_MAX)
				usage();
			m = &r.m[r.n++];
			m->proto = proto_of(argv[i]);
			m->mode = !strcmp(argv[i + 1], "tunnel")
				      ? KMODE_TUNNEL
				      : KMODE_TRANSPORT;
			m->reqid = (uint32_t)num(argv[i + 2]);
			addr(argv[i + 3], &m->old_src);
			addr(argv[i + 4], &m->old_dst);
			addr(argv[i + 5], &m->new_src);
			addr(argv[i + 6], &m->new_dst);
			i += 7;
		}
		rc = k_migrate(&k, &r);
		if (rc < 0)
			ret = fail(&k, rc);
		else
			printf("ok\n");
	} else if (!strcmp(cmd, "events")) {
		ret = cmd_events(&k, argc, argv);
	} else if (!strcmp(cmd, "events-overflow")) {
		ret = cmd_events_overflow(&k, argc, argv);
	} else {
		usage();
	}
	k_close(&k);
	return ret;
}
