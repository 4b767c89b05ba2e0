/*
 * espm_seed.h - what the harnesses speaking r2espd's control protocol
 * (espctl: r2espd's server; kproxy: iked's privileged parent) share to
 * build their inputs and seeds: an IPv4 address, an ESP SA and a policy
 * between 198.51.100.1 and 198.51.100.2, one message framed as (u16
 * length, message), the bodies of an SA id, a GETSPI and a MIGRATE, and
 * writing a seed file.  Header-only (static inline): each harness is one
 * translation unit and uses a different subset.
 */
#ifndef R2_FUZZ_ESPM_SEED_H
#define R2_FUZZ_ESPM_SEED_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/xform.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/wr.h"

static inline void seed_ip4(const char *s, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->af = AF_INET;
	if (inet_pton(AF_INET, s, a->u.b) != 1)
		abort();
}

/* An AES-GCM-128 tunnel SA 198.51.100.1 -> .2, reqid 1 */
static inline struct ksa seed_sa(uint32_t spi, bool update)
{
	struct ksa k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_ESP;
	k.spi = spi;
	seed_ip4("198.51.100.1", &k.src);
	seed_ip4("198.51.100.2", &k.dst);
	k.mode = KMODE_TUNNEL;
	k.reqid = 1;
	k.encr_id = IKEV2_ENCR_AES_GCM_16;
	k.encr_keybits = 128;
	k.enc_key_len = 20; /* key + 4-octet salt, RFC 4106 §8.1 */
	memset(k.enc_key, 0x42, 20);
	k.replay_window = 64;
	k.update = update;
	return k;
}

/* 203.0.113.1 -> .2 through that SA's tunnel */
static inline struct kpolicy seed_pol(enum kdir dir)
{
	struct kpolicy p;

	memset(&p, 0, sizeof(p));
	p.sel.af = AF_INET;
	seed_ip4("203.0.113.1", &p.sel.src);
	seed_ip4("203.0.113.2", &p.sel.dst);
	p.sel.src_plen = p.sel.dst_plen = 32;
	p.dir = dir;
	p.action = KPOL_IPSEC;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = KMODE_TUNNEL;
	seed_ip4("198.51.100.1", &p.tmpl[0].src);
	seed_ip4("198.51.100.2", &p.tmpl[0].dst);
	p.tmpl[0].reqid = 1;
	return p;
}

/* Appends one message (header, then body's octets) to the input f as
 * the harnesses read it: a big-endian u16 length, then the message. */
static inline void seed_msg(struct wr *f, uint16_t type, uint32_t seq,
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

/* The body naming an ESP SA to 198.51.100.2 */
static inline void seed_said(struct wr *w, uint32_t spi)
{
	struct kaddr dst;

	seed_ip4("198.51.100.2", &dst);
	wr_u8(w, IPPROTO_ESP);
	espm_put_kaddr(w, &dst);
	wr_u32(w, spi);
}

static inline void seed_getspi(struct wr *w, const char *src, const char *dst)
{
	struct kaddr a, b;

	seed_ip4(src, &a);
	seed_ip4(dst, &b);
	wr_u8(w, IPPROTO_ESP);
	espm_put_kaddr(w, &a);
	espm_put_kaddr(w, &b);
	wr_u32(w, 1);
}

/* The body moving seed_pol(KDIR_OUT)'s SA from 198.51.100.1 to .9 */
static inline void seed_migrate(struct wr *w)
{
	struct kpolicy p = seed_pol(KDIR_OUT);
	struct kmigrate_req r;

	memset(&r, 0, sizeof(r));
	r.sel = p.sel;
	r.dir = p.dir;
	r.n = 1;
	r.m[0].proto = IPPROTO_ESP;
	r.m[0].mode = KMODE_TUNNEL;
	r.m[0].reqid = 1;
	seed_ip4("198.51.100.1", &r.m[0].old_src);
	seed_ip4("198.51.100.2", &r.m[0].old_dst);
	seed_ip4("198.51.100.9", &r.m[0].new_src);
	seed_ip4("198.51.100.2", &r.m[0].new_dst);
	espm_put_kmigrate(w, &r);
}

/* Writes f to DIR/NAME and empties it; exits on failure (seed generation
 * only). */
static inline void seed_save(const char *dir, const char *name, struct wr *f)
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

#endif
