/*
 * espctl.c - r2espctl, a small tool that drives r2espd through the
 * "userspace" kernel ops table (the same calls spmd and iked make):
 * static SAs and policies for tests and benchmarks, counters, a dump of
 * SAs with the keys tshark needs, and an event monitor.  SA dumps and
 * daemon statistics use the control protocol directly (they are not in
 * the ops table).
 *
 * Keys given on the command line are wiped after use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/util.h"

extern const struct kernel_ops kernel_userspace_ops;

static const char *sock_path;
/* --force-static-aead: add static AEAD keys anyway (see sa_add). */
static bool force_static_aead;

#define NONCE_REUSE_WARNING                                                    \
	"a static AEAD key (AES-GCM, ChaCha20-Poly1305) starts at sequence "   \
	"number 1, which is its nonce, in every SA made with it: adding the "  \
	"same key again (e.g. after an r2espd restart) reuses nonces, which "  \
	"reveals the XOR of plaintexts and lets anyone forge packets"

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: r2espctl [-s socket] [--force-static-aead] COMMAND\n"
	    "  sa add src A dst B spi X enc ALG key HEX [auth ALG akey HEX] "
	    "[esn]\n"
	    "         [proto esp|ah] [mode tunnel|transport] (ah: auth only)\n"
	    "         [window N] [encap SPORT DPORT] [reqid N] [soft-packets "
	    "N]\n"
	    "         [hard-packets N] [soft-bytes N] [hard-bytes N] "
	    "[soft-time S]\n"
	    "         [hard-time S]\n"
	    "     enc: aes-gcm-128 aes-gcm-256 chacha20-poly1305 aes-cbc-128\n"
	    "          aes-cbc-256 null;  auth: sha1 sha256 sha384 sha512\n"
	    "  sa del|query|get dst A spi X [proto esp|ah]\n"
	    "  sa show\n"
	    "  pol add dir in|out|fwd src P/L dst P/L [proto N] tsrc A tdst B\n"
	    "          [reqid N] [prio N] [action ipsec|discard|bypass]\n"
	    "          [tmpl esp|ah|esp,ah|ipcomp,esp|...] (innermost first)\n"
	    "          [mode tunnel|transport] (of the innermost template)\n"
	    "  pol del dir D src P/L dst P/L [proto N]\n"
	    "  pol show | flush | stats | getspi src A dst B | events "
	    "[SECONDS]\n"
	    "  Static AEAD keys (aes-gcm-*, chacha20-poly1305) are refused "
	    "unless\n"
	    "  --force-static-aead is given: their nonces repeat if a key is "
	    "ever\n"
	    "  added again (e.g. after an r2espd restart).\n");
	exit(2);
}

static int parse_addr(const char *s, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->u.b) == 1)
		a->af = AF_INET;
	else if (inet_pton(AF_INET6, s, a->u.b) == 1)
		a->af = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static int parse_prefix(const char *s, struct kaddr *a, uint8_t *plen)
{
	char buf[64], *slash;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, a) < 0)
		return -EINVAL;
	*plen =
	    slash ? (uint8_t)atoi(slash + 1) : (a->af == AF_INET ? 32 : 128);
	return 0;
}

static int hexkey(const char *s, uint8_t *out, uint16_t *len)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > KSA_MAX_KEY)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*len = (uint16_t)(n / 2);
	return 0;
}

static void die(struct kernel *k, const char *what, int rc)
{
	fprintf(stderr, "r2espctl: %s: %s\n", what,
		k->last_error[0] ? k->last_error : strerror(-rc));
	exit(1);
}

#define NEED(n)                                                                \
	do {                                                                   \
		if (i + (n) >= argc)                                           \
			usage();                                               \
	} while (0)

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int sa_add(struct kernel *k, int argc, char **argv)
{
	struct ksa sa;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_ESP;
	sa.mode = KMODE_TUNNEL;
	sa.replay_window = ESP_REPLAY_DEFAULT;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "esn")) {
			sa.esn = true;
			continue;
		}
		if (!strcmp(o, "update")) {
			sa.update = true;
			continue;
		}
		NEED(1);
		const char *v = argv[++i];
		if (!strcmp(o, "src")) {
			if (parse_addr(v, &sa.src) < 0)
				usage();
		} else if (!strcmp(o, "dst")) {
			if (parse_addr(v, &sa.dst) < 0)
				usage();
		} else if (!strcmp(o, "spi")) {
			sa.spi = (uint32_t)num(v);
		} else if (!strcmp(o, "reqid")) {
			sa.reqid = (uint32_t)num(v);
		} else if (!strcmp(o, "proto")) {
			sa.proto = !strcmp(v, "ah")    ? IPPROTO_AH
				   : !strcmp(v, "esp") ? IPPROTO_ESP
						       : 0;
			if (!sa.proto)
				usage();
		} else if (!strcmp(o, "mode")) {
			sa.mode = !strcmp(v, "transport") ? KMODE_TRANSPORT
							  : KMODE_TUNNEL;
		} else if (!strcmp(o, "window")) {
			sa.replay_window = (uint32_t)num(v);
		} else if (!strcmp(o, "enc")) {
			if (!strcmp(v, "aes-gcm-128")) {
				sa.encr_id = IKEV2_ENCR_AES_GCM_16;
				sa.encr_keybits = 128;
			} else if (!strcmp(v, "aes-gcm-256")) {
				sa.encr_id = IKEV2_ENCR_AES_GCM_16;
				sa.encr_keybits = 256;
			} else if (!strcmp(v, "chacha20-poly1305")) {
				sa.encr_id = IKEV2_ENCR_CHACHA20_POLY1305;
				sa.encr_keybits = 256;
			} else if (!strncmp(v, "aes-cbc-", 8)) {
				sa.encr_id = IKEV2_ENCR_AES_CBC;
				sa.encr_keybits = (uint16_t)atoi(v + 8);
			} else if (!strcmp(v, "null")) {
				sa.encr_id = IKEV2_ENCR_NULL;
			} else {
				usage();
			}
		} else if (!strcmp(o, "auth")) {
			sa.integ_id = !strcmp(v, "sha1")
					  ? IKEV2_INTEG_HMAC_SHA1_96
				      : !strcmp(v, "sha256")
					  ? IKEV2_INTEG_HMAC_SHA2_256_128
				      : !strcmp(v, "sha384")
					  ? IKEV2_INTEG_HMAC_SHA2_384_192
				      : !strcmp(v, "sha512")
					  ? IKEV2_INTEG_HMAC_SHA2_512_256
					  : 0;
			if (!sa.integ_id)
				usage();
		} else if (!strcmp(o, "key")) {
			if (hexkey(v, sa.enc_key, &sa.enc_key_len) < 0)
				usage();
		} else if (!strcmp(o, "akey")) {
			if (hexkey(v, sa.auth_key, &sa.auth_key_len) < 0)
				usage();
		} else if (!strcmp(o, "encap")) {
			NEED(1);
			sa.encap.enabled = true;
			sa.encap.sport = (uint16_t)num(v);
			sa.encap.dport = (uint16_t)num(argv[++i]);
		} else if (!strcmp(o, "soft-packets")) {
			sa.lft.soft_packets = num(v);
		} else if (!strcmp(o, "hard-packets")) {
			sa.lft.hard_packets = num(v);
		} else if (!strcmp(o, "soft-bytes")) {
			sa.lft.soft_bytes = num(v);
		} else if (!strcmp(o, "hard-bytes")) {
			sa.lft.hard_bytes = num(v);
		} else if (!strcmp(o, "soft-time")) {
			sa.lft.soft_add_sec = num(v);
		} else if (!strcmp(o, "hard-time")) {
			sa.lft.hard_add_sec = num(v);
		} else {
			usage();
		}
	}
	if (sa.encr_id == IKEV2_ENCR_NULL)
		sa.encr_keybits = 0;
	if (esp_encr_is_aead(sa.encr_id)) {
		if (!force_static_aead) {
			mem_wipe(&sa, sizeof(sa));
			fprintf(
			    stderr,
			    "r2espctl: sa add: refused: " NONCE_REUSE_WARNING
			    ".  Use IKE (iked), or aes-cbc with an HMAC, or "
			    "--force-static-aead for a key you will never "
			    "add again.\n");
			exit(1);
		}
		fprintf(stderr, "r2espctl: warning: "
				"--force-static-aead: " NONCE_REUSE_WARNING
				".  Never add this key "
				"again.\n");
	}
	rc = kernel_userspace_ops.sa_add(k, &sa);
	mem_wipe(&sa, sizeof(sa));
	if (rc < 0)
		die(k, "sa add", rc);
	return 0;
}

static void said(int argc, char **argv, struct kaddr *dst, uint32_t *spi,
		 uint8_t *proto)
{
	memset(dst, 0, sizeof(*dst));
	*spi = 0;
	*proto = IPPROTO_ESP;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "proto")) {
			*proto = !strcmp(argv[i + 1], "ah") ? IPPROTO_AH
							    : IPPROTO_ESP;
		} else if (!strcmp(argv[i], "dst")) {
			if (parse_addr(argv[i + 1], dst) < 0)
				usage();
		} else if (!strcmp(argv[i], "spi")) {
			*spi = (uint32_t)num(argv[i + 1]);
		} else {
			usage();
		}
	}
	if (!dst->af || !*spi)
		usage();
}

static void hex(const uint8_t *p, size_t n)
{
	printf("0x");
	hex_fput(stdout, p, n);
}

static void print_counters(const struct kcounters *c)
{
	printf("bytes %llu packets %llu replay_drops %u integrity_drops %u\n",
	       (unsigned long long)c->bytes, (unsigned long long)c->packets,
	       c->replay_drops, c->integrity_drops);
}

/* "esp,ah": the templates of a bundle, innermost first (espd.h); the
 * outer ones are transport mode, reqid and addresses as the first. */
static int parse_tmpls(const char *v, struct kpolicy *p)
{
	char buf[64], *save = NULL;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		uint8_t proto = !strcmp(t, "esp")      ? IPPROTO_ESP
				: !strcmp(t, "ah")     ? IPPROTO_AH
				: !strcmp(t, "ipcomp") ? IPPROTO_COMP
						       : 0;
		if (!proto || n == KPOL_MAX_TMPL)
			return -EINVAL;
		p->tmpl[n].proto = proto;
		/* RFC 3173 §2.1: IPComp may be skipped */
		p->tmpl[n].level =
		    proto == IPPROTO_COMP ? KLEVEL_USE : KLEVEL_REQUIRE;
		n++;
	}
	if (!n)
		return -EINVAL;
	p->ntmpl = n;
	return 0;
}

static int parse_pol(int argc, char **argv, struct kpolicy *p)
{
	memset(p, 0, sizeof(*p));
	p->ntmpl = 1;
	p->tmpl[0].proto = IPPROTO_ESP;
	p->tmpl[0].mode = KMODE_TUNNEL;
	p->priority = 1000;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "dir")) {
			p->dir = !strcmp(v, "in")    ? KDIR_IN
				 : !strcmp(v, "out") ? KDIR_OUT
						     : KDIR_FWD;
		} else if (!strcmp(o, "src")) {
			if (parse_prefix(v, &p->sel.src, &p->sel.src_plen) < 0)
				usage();
			p->sel.af = p->sel.src.af;
		} else if (!strcmp(o, "dst")) {
			if (parse_prefix(v, &p->sel.dst, &p->sel.dst_plen) < 0)
				usage();
		} else if (!strcmp(o, "proto")) {
			p->sel.proto = (uint8_t)num(v);
		} else if (!strcmp(o, "tsrc")) {
			if (parse_addr(v, &p->tmpl[0].src) < 0)
				usage();
		} else if (!strcmp(o, "tdst")) {
			if (parse_addr(v, &p->tmpl[0].dst) < 0)
				usage();
		} else if (!strcmp(o, "reqid")) {
			p->tmpl[0].reqid = (uint32_t)num(v);
		} else if (!strcmp(o, "mode")) {
			p->tmpl[0].mode = !strcmp(v, "transport")
					      ? KMODE_TRANSPORT
					      : KMODE_TUNNEL;
		} else if (!strcmp(o, "tmpl")) {
			if (parse_tmpls(v, p) < 0)
				usage();
		} else if (!strcmp(o, "prio")) {
			p->priority = (uint32_t)num(v);
		} else if (!strcmp(o, "action")) {
			p->action = !strcmp(v, "discard")  ? KPOL_DISCARD
				    : !strcmp(v, "bypass") ? KPOL_BYPASS
							   : KPOL_IPSEC;
			if (p->action != KPOL_IPSEC)
				p->ntmpl = 0;
		} else {
			usage();
		}
	}
	for (unsigned t = 1; t < p->ntmpl; t++) {
		p->tmpl[t].mode = KMODE_TRANSPORT;
		p->tmpl[t].reqid = p->tmpl[0].reqid;
	}
	if (p->tmpl[0].mode == KMODE_TRANSPORT) {
		memset(&p->tmpl[0].src, 0, sizeof(p->tmpl[0].src));
		memset(&p->tmpl[0].dst, 0, sizeof(p->tmpl[0].dst));
	}
	return 0;
}

static int print_pol(const struct kpolicy *p, void *arg)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	static const char *dirs[] = {"in", "out", "fwd"};
	static const char *acts[] = {"ipsec", "discard", "bypass"};
	inet_ntop(p->sel.af ? p->sel.af : AF_INET, p->sel.src.u.b, s,
		  sizeof(s));
	inet_ntop(p->sel.af ? p->sel.af : AF_INET, p->sel.dst.u.b, d,
		  sizeof(d));
	printf("index %#x dir %s %s/%u -> %s/%u proto %u prio %u %s "
	       "packets %llu\n",
	       p->index, dirs[p->dir], s, p->sel.src_plen, d, p->sel.dst_plen,
	       p->sel.proto, p->priority, acts[p->action],
	       (unsigned long long)p->cur_packets);
	return 0;
}

static void print_event(const struct kevent *ev, void *arg)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	switch (ev->type) {
	case KEV_ACQUIRE:
		inet_ntop(ev->u.acquire.sel.af, ev->u.acquire.sel.src.u.b, a,
			  sizeof(a));
		inet_ntop(ev->u.acquire.sel.af, ev->u.acquire.sel.dst.u.b, b,
			  sizeof(b));
		printf("ACQUIRE policy %#x flow %s -> %s proto %u\n",
		       ev->u.acquire.pol_index, a, b, ev->u.acquire.sel.proto);
		break;
	case KEV_EXPIRE:
		printf("EXPIRE %s spi 0x%08x\n",
		       ev->u.expire.hard ? "hard" : "soft", ev->u.expire.spi);
		break;
	case KEV_POL_EXPIRE:
		printf("POLICY-EXPIRE index %#x\n", ev->u.pol_expire.index);
		break;
	case KEV_MAPPING:
		inet_ntop(ev->u.mapping.new_addr.af, ev->u.mapping.new_addr.u.b,
			  a, sizeof(a));
		printf("MAPPING spi 0x%08x new %s:%u\n", ev->u.mapping.spi, a,
		       ev->u.mapping.new_port);
		break;
	case KEV_RESYNC:
		printf("RESYNC %s\n", ev->u.resync.reason);
		break;
	default:
		printf("EVENT %d\n", ev->type);
	}
	fflush(stdout);
}

/* Requests outside the ops table: SA dump and statistics. */
static int raw_request(uint16_t type)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct espm_hdr h = {.type = type, .seq = 1};
	static uint8_t buf[ESPM_MAX];
	struct wr w;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror(sock_path);
		return 1;
	}
	wr_init(&w, ESPM_MAX);
	espm_put_hdr(&w, &h);
	if (send(fd, w.buf, w.len, 0) < 0)
		return 1;
	wr_free(&w);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct rd r;
		if (n <= 0)
			return 1;
		r = rd_init(buf, (size_t)n);
		if (espm_get_hdr(&r, &h) < 0)
			return 1;
		if (h.type == ESPM_ITEM) {
			struct ksa sa;
			struct kcounters c;
			char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
			if (espm_get_ksa(&r, &sa) < 0 ||
			    espm_get_kcounters(&r, &c) < 0)
				return 1;
			inet_ntop(sa.src.af, sa.src.u.b, s, sizeof(s));
			inet_ntop(sa.dst.af, sa.dst.u.b, d, sizeof(d));
			printf(
			    "spi 0x%08x %s %s -> %s %s encr %u/%u integ %u%s%s "
			    "reqid %u ",
			    sa.spi,
			    sa.proto == IPPROTO_AH     ? "ah"
			    : sa.proto == IPPROTO_COMP ? "ipcomp"
						       : "esp",
			    s, d,
			    sa.mode == KMODE_TRANSPORT ? "transport" : "tunnel",
			    sa.encr_id, sa.encr_keybits, sa.integ_id,
			    sa.esn ? " esn" : "",
			    sa.encap.enabled ? " udp-encap" : "", sa.reqid);
			print_counters(&c);
			continue;
		}
		if (h.type != ESPM_REPLY)
			continue;
		if (type == ESPM_STATS) {
			uint32_t cnt;
			char name[64];
			uint64_t v;
			if (rd_u32(&r, &cnt) < 0)
				return 1;
			while (cnt--) {
				if (espm_get_str(&r, name, sizeof(name)) < 0 ||
				    rd_u64(&r, &v) < 0)
					return 1;
				printf("%s %llu\n", name,
				       (unsigned long long)v);
			}
		}
		close(fd);
		return h.status < 0;
	}
}

/* One command (argv[1] onwards) on the open connection k. */
static int command(struct kernel *k, int argc, char **argv)
{
	int rc;

	if (!strcmp(argv[1], "sa") && argc >= 3) {
		struct kaddr dst;
		uint32_t spi;
		uint8_t proto;
		if (!strcmp(argv[2], "add"))
			return sa_add(k, argc - 3, argv + 3);
		said(argc - 3, argv + 3, &dst, &spi, &proto);
		if (!strcmp(argv[2], "del")) {
			if ((rc = k->ops->sa_del(k, proto, &dst, spi)))
				die(k, "sa del", rc);
		} else if (!strcmp(argv[2], "query")) {
			struct kcounters c;
			if ((rc = k->ops->sa_query(k, proto, &dst, spi, &c)))
				die(k, "sa query", rc);
			print_counters(&c);
		} else if (!strcmp(argv[2], "get")) {
			struct ksa sa;
			struct kcounters c;
			if ((rc = k->ops->sa_get(k, proto, &dst, spi, &sa, &c)))
				die(k, "sa get", rc);
			printf("spi 0x%08x encr %u integ %u enc_key ", sa.spi,
			       sa.encr_id, sa.integ_id);
			hex(sa.enc_key, sa.enc_key_len);
			printf(" auth_key ");
			hex(sa.auth_key, sa.auth_key_len);
			printf("\n");
			mem_wipe(&sa, sizeof(sa));
		} else {
			usage();
		}
	} else if (!strcmp(argv[1], "pol") && argc >= 3) {
		struct kpolicy p;
		parse_pol(argc - 3, argv + 3, &p);
		if (!strcmp(argv[2], "add")) {
			if ((rc = k->ops->pol_add(k, &p)))
				die(k, "pol add", rc);
			printf("index %#x\n", p.index);
		} else if (!strcmp(argv[2], "del")) {
			if ((rc = k->ops->pol_del(k, &p)))
				die(k, "pol del", rc);
		} else if (!strcmp(argv[2], "show")) {
			if ((rc = k->ops->pol_dump(k, print_pol, NULL)))
				die(k, "pol show", rc);
		} else {
			usage();
		}
	} else if (!strcmp(argv[1], "flush")) {
		if ((rc = k->ops->flush_own(k)))
			die(k, "flush", rc);
	} else if (!strcmp(argv[1], "getspi")) {
		struct kaddr src = {0}, dst = {0};
		uint32_t spi;
		for (int i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "src"))
				parse_addr(argv[i + 1], &src);
			else if (!strcmp(argv[i], "dst"))
				parse_addr(argv[i + 1], &dst);
		}
		if ((rc = k->ops->getspi(k, IPPROTO_ESP, &src, &dst, 0, &spi)))
			die(k, "getspi", rc);
		printf("0x%08x\n", spi);
	} else if (!strcmp(argv[1], "events")) {
		int secs = argc > 2 ? atoi(argv[2]) : 3600;
		time_t end = time(NULL) + secs;
		struct pollfd pfd = {.fd = k->ops->event_fd(k),
				     .events = POLLIN};
		/* the backend reconnects by itself if r2espd restarts */
		while (time(NULL) < end) {
			if (poll(&pfd, 1, 200) <= 0)
				continue;
			rc = k->ops->event_read(k, print_event, NULL);
			if (rc == -ECONNRESET) {
				fprintf(stderr, "r2espctl: %s\n",
					k->last_error);
			} else if (rc < 0) {
				die(k, "events", rc);
			}
		}
	} else {
		usage();
	}
	return 0;
}

/*
 * batch FILE ("-": standard input): one command per line, as on the
 * command line without "r2espctl" (sa add ..., pol add ..., ...), on one
 * connection; blank lines and lines starting with # are skipped.  The
 * first failing command ends the batch (its line number is printed).
 */
static int batch(struct kernel *k, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[1024];
	unsigned n = 0;

	if (!f) {
		fprintf(stderr, "r2espctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *argv[64], *save = NULL, *t;
		int argc = 1, rc;

		n++;
		argv[0] = "r2espctl";
		for (t = strtok_r(line, " \t\r\n", &save); t && argc < 63;
		     t = strtok_r(NULL, " \t\r\n", &save))
			argv[argc++] = t;
		argv[argc] = NULL;
		if (argc < 2 || argv[1][0] == '#')
			continue;
		if (strcmp(argv[1], "sa") && strcmp(argv[1], "pol") &&
		    strcmp(argv[1], "flush")) {
			fprintf(stderr,
				"r2espctl: %s:%u: only sa, pol and flush in a "
				"batch\n",
				path, n);
			rc = 1;
		} else {
			rc = command(k, argc, argv);
		}
		if (rc) {
			fprintf(stderr, "r2espctl: %s:%u: failed\n", path, n);
			if (f != stdin)
				fclose(f);
			return rc;
		}
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct kernel k = {.ops = &kernel_userspace_ops};
	const char *env = getenv(ESPM_SOCKET_ENV);
	unsigned flags = 0;
	int rc;

	sock_path = env && *env ? env : ESPM_DEFAULT_SOCKET;
	/* --force-static-aead may stand anywhere: take it out of argv. */
	for (int i = 1, j = 1; i <= argc; i++) {
		if (i < argc && !strcmp(argv[i], "--force-static-aead")) {
			force_static_aead = true;
			continue;
		}
		argv[j++] = argv[i];
		if (i == argc)
			argc = j - 1;
	}
	if (argc > 2 && !strcmp(argv[1], "-s")) {
		sock_path = argv[2];
		setenv(ESPM_SOCKET_ENV, sock_path, 1);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "stats"))
		return raw_request(ESPM_STATS);
	if (argc >= 3 && !strcmp(argv[1], "sa") && !strcmp(argv[2], "show"))
		return raw_request(ESPM_SA_DUMP);
	if (!strcmp(argv[1], "events"))
		flags = K_OPEN_EVENTS;
	/* what this tool adds is never a freshly negotiated key */
	flags |= K_OPEN_STATIC_KEYS;
	if (force_static_aead)
		flags |= K_OPEN_FORCE_STATIC_AEAD;
	if ((rc = k.ops->open(&k, flags)) < 0)
		die(&k, "open", rc);
	if (!strcmp(argv[1], "batch") && argc == 3)
		rc = batch(&k, argv[2]);
	else
		rc = command(&k, argc, argv);
	k.ops->close(&k);
	return rc;
}
