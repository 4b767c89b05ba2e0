/*
 * gen_corpus.c - writes the seed corpus of the pfkey fuzz harness
 * (tests/corpus/pfkey/): requests built by pfkey_msg.c in the three
 * dialects, and kernel-side messages derived from them by changing the
 * message type (an ADD with only a soft lifetime is a soft EXPIRE, a
 * GETSPI is an ACQUIRE, an SPDADD a dump entry or SPDEXPIRE, a Linux
 * tunnel policy with two requests a MIGRATE, a Linux NAT-T SA a
 * NAT_T_NEW_MAPPING) plus error replies.
 * Usage: gen-pfkey-corpus DIR.  Not a test; run by hand and commit the
 * output (the files are in host byte order: generate on little-endian).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "kernel/pfkey_msg.h"
#include "lib/wr.h"

static const char *dir;

static void save(const char *name, const struct pfk_flavor *fl,
		 const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%s.bin", dir, fl->name, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* Saves w's message, retyped (0 = as built) and with errno set. */
static void save_as(const char *name, const struct pfk_flavor *fl, struct wr *w,
		    uint8_t type, uint8_t err)
{
	uint8_t buf[PFK_REQ_MAX];

	if (wr_error(w) || w->len > sizeof(buf)) {
		fprintf(stderr, "%s: build failed\n", name);
		exit(1);
	}
	memcpy(buf, w->buf, w->len);
	if (type)
		buf[1] = type;
	buf[2] = err;
	save(name, fl, buf, w->len);
}

static struct kaddr A(const char *s) {
	struct kaddr a;

	if (kaddr_parse(s, &a) < 0)
		exit(1);
	return a;
}

static struct ksa
sa_base(bool v6)
{
	struct ksa sa;

	memset(&sa, 0, sizeof(sa));
	sa.proto = IPPROTO_ESP;
	sa.spi = 0xc0ffee01;
	sa.src = A(v6 ? "2001:db8::1" : "198.51.100.1");
	sa.dst = A(v6 ? "2001:db8::2" : "198.51.100.2");
	sa.reqid = 0x1001;
	sa.encr_id = IKEV2_ENCR_AES_CBC;
	sa.encr_keybits = 128;
	sa.enc_key_len = 16;
	memset(sa.enc_key, 0x11, 16);
	sa.integ_id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.auth_key_len = 32;
	memset(sa.auth_key, 0x22, 32);
	sa.replay_window = 64;
	return sa;
}

static struct kpolicy pol_base(bool v6, enum kmode mode, unsigned ntmpl)
{
	struct kpolicy p;

	memset(&p, 0, sizeof(p));
	p.sel.af = v6 ? AF_INET6 : AF_INET;
	p.sel.src = A(v6 ? "2001:db8:1::" : "203.0.113.0");
	p.sel.dst = A(v6 ? "2001:db8:2::" : "198.51.100.0");
	p.sel.src_plen = p.sel.dst_plen = v6 ? 48 : 24;
	p.sel.proto = IPPROTO_UDP;
	p.sel.dport = 53;
	p.dir = KDIR_OUT;
	p.action = KPOL_IPSEC;
	p.priority = 1900;
	p.index = kpol_index_make(5, KDIR_OUT);
	p.hard_add_expires_sec = 300;
	p.ntmpl = ntmpl;
	for (unsigned i = 0; i < ntmpl; i++) {
		p.tmpl[i].proto = IPPROTO_ESP;
		p.tmpl[i].mode = mode;
		p.tmpl[i].level = KLEVEL_UNIQUE;
		p.tmpl[i].reqid = 0x1001 + i;
		if (mode == KMODE_TUNNEL) {
			p.tmpl[i].src =
			    A(v6 ? (i ? "2001:db8::10" : "2001:db8::1")
				 : (i ? "203.0.113.10" : "203.0.113.1"));
			p.tmpl[i].dst = A(v6 ? "2001:db8::2" : "198.51.100.1");
		}
	}
	return p;
}

static void one_flavor(const struct pfk_flavor *fl)
{
	struct pfk_req rq = {fl, 3, 4242};
	struct wr w;
	struct ksa sa;
	struct kpolicy p;
	struct kaddr s = A("198.51.100.1"), d = A("198.51.100.2");
	char err[160];

	wr_init(&w, PFK_REQ_MAX);
#define BUILD(expr)                                                            \
	do {                                                                   \
		wr_reset(&w);                                                  \
		if ((expr) != 0) {                                             \
			fprintf(stderr, "%s: %s: %s\n", fl->name, #expr, err); \
			exit(1);                                               \
		}                                                              \
	} while (0)

	err[0] = '\0';
	BUILD(pfk_build_getspi(&w, &rq, IPPROTO_ESP, &s, &d, 7, K_SPI_MIN,
			       K_SPI_MAX, err, sizeof(err)));
	save_as("getspi", fl, &w, 0, 0);
	save_as("acquire", fl, &w, PFK_ACQUIRE, 0);

	sa = sa_base(false);
	sa.lft.hard_add_sec = 3600;
	sa.lft.soft_add_sec = 3000;
	BUILD(pfk_build_sa(&w, &rq, &sa, err, sizeof(err)));
	save_as("add-cbc", fl, &w, 0, 0);
	save_as("get-reply", fl, &w, PFK_GET, 0);
	save_as("add-eexist", fl, &w, 0, 17);

	sa = sa_base(true);
	sa.lft.soft_bytes = 1000;
	sa.mode = KMODE_TUNNEL;
	sa.update = true;
	BUILD(pfk_build_sa(&w, &rq, &sa, err, sizeof(err)));
	save_as("update-v6", fl, &w, 0, 0);
	save_as("expire-soft", fl, &w, PFK_EXPIRE, 0);

	sa = sa_base(false);
	sa.lft.hard_bytes = 2000;
	sa.encap.enabled = true;
	sa.encap.sport = 4500;
	sa.encap.dport = 40000;
	sa.encap.oa = A("192.168.1.10");
	if (fl->aead) {
		sa.encr_id = IKEV2_ENCR_AES_GCM_16;
		sa.encr_keybits = 256;
		sa.enc_key_len = 36;
		sa.integ_id = 0;
		sa.auth_key_len = 0;
	}
	if (fl->esn)
		sa.esn = true;
	if (fl->sa_replay_ext)
		sa.replay_window = 4096;
	BUILD(pfk_build_sa(&w, &rq, &sa, err, sizeof(err)));
	save_as("add-natt", fl, &w, 0, 0);
	save_as("expire-hard", fl, &w, PFK_EXPIRE, 0);
	save_as("new-mapping", fl, &w, PFK_X_NAT_T_NEW_MAPPING, 0);

	BUILD(pfk_build_sa_id(&w, &rq, PFK_DELETE, IPPROTO_AH, &s, &d, 0x1234,
			      err, sizeof(err)));
	save_as("delete", fl, &w, 0, 0);

	p = pol_base(false, KMODE_TUNNEL, 1);
	BUILD(pfk_build_policy(&w, &rq, PFK_X_SPDADD, &p, err, sizeof(err)));
	save_as("spdadd-tunnel", fl, &w, 0, 0);
	save_as("spddump-owned", fl, &w, PFK_X_SPDDUMP, 0);
	save_as("spdexpire", fl, &w, PFK_X_SPDEXPIRE, 0);

	p = pol_base(true, KMODE_TUNNEL, 2);
	p.index = 0;
	BUILD(pfk_build_policy(&w, &rq, PFK_X_SPDUPDATE, &p, err, sizeof(err)));
	save_as("spdupdate-v6-2tmpl", fl, &w, 0, 0);
	save_as("migrate", fl, &w, PFK_X_MIGRATE, 0);

	p = pol_base(true, KMODE_TRANSPORT, 1);
	p.tmpl[0].level = KLEVEL_USE;
	BUILD(pfk_build_policy(&w, &rq, PFK_X_SPDADD, &p, err, sizeof(err)));
	save_as("spddump-transport", fl, &w, PFK_X_SPDDUMP, 0);

	p = pol_base(false, KMODE_TRANSPORT, 0);
	p.action = KPOL_DISCARD;
	BUILD(pfk_build_spddelete(&w, &rq, &p, err, sizeof(err)));
	save_as("spddelete", fl, &w, 0, 0);

	BUILD(pfk_build_spdid(&w, &rq, PFK_X_SPDDELETE2, 77, KDIR_IN));
	save_as("spddelete2", fl, &w, 0, 0);
	BUILD(pfk_build_base(&w, &rq, PFK_X_SPDDUMP, 0));
	save_as("spddump-enoent", fl, &w, 0, 2);
	BUILD(pfk_build_base(&w, &rq, PFK_REGISTER, PFK_SATYPE_ESP));
	save_as("register", fl, &w, 0, 0);
#undef BUILD
	wr_free(&w);
}

int main(int argc, char **argv)
{
	static const enum pfk_os oses[] = {PFK_OS_FREEBSD, PFK_OS_NETBSD,
					   PFK_OS_LINUX};

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	for (size_t i = 0; i < sizeof(oses) / sizeof(oses[0]); i++)
		one_flavor(pfk_flavor(oses[i]));
	return 0;
}
