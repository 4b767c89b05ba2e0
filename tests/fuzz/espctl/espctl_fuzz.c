/*
 * espctl_fuzz.c - libFuzzer harness for r2espd's control-socket request
 * handling (espd.c: espd_ctl_msg, the function each control datagram goes
 * through): HELLO, GETSPI, SA add/update/del/query/get/dump, policy
 * add/update/del/dump, FLUSH_OWN, STATS, MIGRATE, unknown types.
 *
 * Input: a sequence of messages, each a big-endian u16 length then that
 * many octets (one SOCK_SEQPACKET datagram, at most ESPM_MAX), handed to
 * espd_ctl_msg() for client slot 0, whose socket is one end of a
 * socketpair; the answers are drained from the other end after every
 * message and each must start with a well-formed header.  The daemon's
 * packet path (routes, queued packets) is stubbed: espd_route() and
 * espd_queue_flush() do nothing.  State is rebuilt per input: all SAs
 * (wiped) and policies are freed, the client slot and socketpair are
 * new.
 *
 * With ESPCTL_FUZZ_GEN=DIR set, the replay binary writes the seed corpus
 * into DIR instead (see tests/corpus/espctl).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"
#include "lib/ev.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* espd_net.c is not linked: tests/unit/esp/espd_net_stub.c */
static struct espd d;

static void drain(int fd)
{
	uint8_t buf[ESPM_MAX + 1];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct rd r = rd_init(buf, (size_t)n);
		struct espm_hdr h;

		if (espm_get_hdr(&r, &h) < 0 ||
		    (h.type != ESPM_REPLY && h.type != ESPM_ITEM &&
		     h.type != ESPM_EVENT) ||
		    h.status > 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (!d.loop) {
		/* ESPCTL_FUZZ_VERBOSE: see which requests are refused */
		log_init("fuzz", LOG_TO_STDERR,
			 getenv("ESPCTL_FUZZ_VERBOSE") ? LOG_LVL_INFO
						       : LOG_LVL_ERR);
		d.loop = ev_new();
		if (!d.loop)
			abort();
	}
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	d.ctl_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	d.cli[0].fd = sv[0];
	d.cli[0].events = false;
	while (size >= 2 && d.cli[0].fd >= 0) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > ESPM_MAX)
			len = ESPM_MAX;
		espd_ctl_msg(&d, 0, data, len);
		drain(sv[1]);
		data += len;
		size -= len;
	}
	espd_state_free(&d);
	if (d.cli[0].fd >= 0)
		close(d.cli[0].fd);
	d.cli[0].fd = -1;
	close(sv[1]);
	return 0;
}

#ifdef ESPCTL_FUZZ_GEN
/* ---- seed corpus ----------------------------------------------------------
 */

static void ip4(const char *s, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->af = AF_INET;
	if (inet_pton(AF_INET, s, a->u.b) != 1)
		abort();
}

static void msg(struct wr *f, uint16_t type, uint32_t seq,
		void (*body)(struct wr *))
{
	struct espm_hdr h = {.type = type, .seq = seq};
	struct wr m;

	wr_init(&m, ESPM_MAX);
	espm_put_hdr(&m, &h);
	if (body)
		body(&m);
	wr_u16(f, (uint16_t)m.len);
	wr_bytes(f, m.buf, m.len);
	wr_free(&m);
}

static void b_hello(struct wr *w)
{
	wr_u32(w, ESPM_VERSION);
	wr_u32(w, ESPM_F_EVENTS);
}

static struct ksa sa_k(uint32_t spi, bool update)
{
	struct ksa k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_ESP;
	k.spi = spi;
	ip4("198.51.100.1", &k.src);
	ip4("198.51.100.2", &k.dst);
	k.mode = KMODE_TUNNEL;
	k.reqid = 1;
	k.encr_id = IKEV2_ENCR_AES_GCM_16;
	k.encr_keybits = 128;
	k.enc_key_len = 20;
	memset(k.enc_key, 0x42, 20);
	k.replay_window = 64;
	k.lft.hard_bytes = 1000;
	k.update = update;
	return k;
}

static void b_sa_add(struct wr *w)
{
	struct ksa k = sa_k(0x1000, false);

	espm_put_ksa(w, &k, true);
}

static void b_sa_upd(struct wr *w)
{
	struct ksa k = sa_k(0x1000, true);

	k.encap.enabled = true;
	k.encap.sport = k.encap.dport = 4500;
	espm_put_ksa(w, &k, true);
}

static void b_said(struct wr *w)
{
	struct kaddr dst;

	ip4("198.51.100.2", &dst);
	wr_u8(w, IPPROTO_ESP);
	espm_put_kaddr(w, &dst);
	wr_u32(w, 0x1000);
}

static void b_getspi(struct wr *w)
{
	struct kaddr a, b;

	ip4("198.51.100.2", &a);
	ip4("198.51.100.1", &b);
	wr_u8(w, IPPROTO_ESP);
	espm_put_kaddr(w, &a);
	espm_put_kaddr(w, &b);
	wr_u32(w, 1);
}

static struct kpolicy pol(enum kdir dir)
{
	struct kpolicy p;

	memset(&p, 0, sizeof(p));
	p.sel.af = AF_INET;
	ip4("203.0.113.1", &p.sel.src);
	ip4("203.0.113.2", &p.sel.dst);
	p.sel.src_plen = p.sel.dst_plen = 32;
	p.dir = dir;
	p.action = KPOL_IPSEC;
	p.hard_add_expires_sec = 60;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = KMODE_TUNNEL;
	ip4("198.51.100.1", &p.tmpl[0].src);
	ip4("198.51.100.2", &p.tmpl[0].dst);
	p.tmpl[0].reqid = 1;
	return p;
}

static void b_pol_out(struct wr *w)
{
	struct kpolicy p = pol(KDIR_OUT);

	espm_put_kpolicy(w, &p);
}

static void b_pol_in(struct wr *w)
{
	struct kpolicy p = pol(KDIR_IN);

	espm_put_kpolicy(w, &p);
}

static void b_pol_transport(struct wr *w)
{
	struct kpolicy p = pol(KDIR_OUT);

	p.tmpl[0].mode = KMODE_TRANSPORT;
	espm_put_kpolicy(w, &p);
}

static void b_migrate(struct wr *w)
{
	struct kpolicy p = pol(KDIR_OUT);
	struct kmigrate_req r;

	memset(&r, 0, sizeof(r));
	r.sel = p.sel;
	r.dir = p.dir;
	r.n = 1;
	r.m[0].proto = IPPROTO_ESP;
	r.m[0].mode = KMODE_TUNNEL;
	r.m[0].reqid = 1;
	ip4("198.51.100.1", &r.m[0].old_src);
	ip4("198.51.100.2", &r.m[0].old_dst);
	ip4("198.51.100.9", &r.m[0].new_src);
	ip4("198.51.100.2", &r.m[0].new_dst);
	espm_put_kmigrate(w, &r);
}

static void save(const char *dir, const char *name, struct wr *f)
{
	char path[512];
	FILE *o;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o = fopen(path, "wb");
	if (!o || fwrite(f->buf, 1, f->len, o) != f->len) {
		perror(path);
		exit(1);
	}
	fclose(o);
	wr_reset(f);
}

static void gen(const char *dir)
{
	struct wr f;

	wr_init(&f, 1 << 20);
	msg(&f, ESPM_HELLO, 1, b_hello);
	msg(&f, ESPM_STATS, 2, NULL);
	save(dir, "hello-stats", &f);
	msg(&f, ESPM_GETSPI, 1, b_getspi);
	msg(&f, ESPM_SA_ADD, 2, b_sa_add);
	msg(&f, ESPM_SA_QUERY, 3, b_said);
	msg(&f, ESPM_SA_GET, 4, b_said);
	msg(&f, ESPM_SA_DUMP, 5, NULL);
	msg(&f, ESPM_SA_DEL, 6, b_said);
	save(dir, "sa-lifecycle", &f);
	msg(&f, ESPM_GETSPI, 1, b_getspi);
	msg(&f, ESPM_SA_ADD, 2, b_sa_upd);
	msg(&f, ESPM_SA_DUMP, 3, NULL);
	save(dir, "getspi-update-natt", &f);
	msg(&f, ESPM_HELLO, 1, b_hello);
	msg(&f, ESPM_POL_ADD, 2, b_pol_out);
	msg(&f, ESPM_POL_ADD, 3, b_pol_in);
	msg(&f, ESPM_POL_ADD, 4, b_pol_out);
	msg(&f, ESPM_POL_UPDATE, 5, b_pol_out);
	msg(&f, ESPM_POL_DUMP, 6, NULL);
	msg(&f, ESPM_POL_DEL, 7, b_pol_in);
	msg(&f, ESPM_POL_ADD, 8, b_pol_transport);
	msg(&f, ESPM_FLUSH_OWN, 9, NULL);
	save(dir, "policies", &f);
	msg(&f, ESPM_SA_ADD, 1, b_sa_add);
	msg(&f, ESPM_POL_ADD, 2, b_pol_out);
	msg(&f, ESPM_SA_ADD, 3, b_sa_add); /* exists */
	msg(&f, ESPM_SA_DUMP, 4, NULL);
	msg(&f, ESPM_POL_DUMP, 5, NULL);
	msg(&f, 77, 6, NULL); /* unknown type */
	save(dir, "mixed", &f);
	msg(&f, ESPM_HELLO, 1, b_hello);
	msg(&f, ESPM_SA_ADD, 2, b_sa_add);
	msg(&f, ESPM_POL_ADD, 3, b_pol_out);
	msg(&f, ESPM_MIGRATE, 4, b_migrate);
	msg(&f, ESPM_MIGRATE, 5, b_migrate); /* ENODATA now */
	msg(&f, ESPM_SA_DUMP, 6, NULL);
	save(dir, "migrate", &f);
	wr_u16(&f, 5);
	wr_bytes(&f, "\0\1\0\0\0", 5); /* short header */
	save(dir, "short", &f);
	wr_free(&f);
}

__attribute__((constructor)) static void maybe_gen(void)
{
	const char *dir = getenv("ESPCTL_FUZZ_GEN");

	if (dir && *dir) {
		gen(dir);
		exit(0);
	}
}
#endif
