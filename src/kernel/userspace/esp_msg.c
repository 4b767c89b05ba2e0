/*
 * esp_msg.c - encoding and decoding of the r2espd control protocol; see
 * esp_msg.h.  Writers rely on the sticky error of struct wr; readers go
 * through struct rd and check every enum, length and prefix length, since
 * the daemon must survive any bytes a local client sends.
 */
#include "kernel/userspace/esp_msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define GET(x)                                                                 \
	do {                                                                   \
		if ((x) < 0)                                                   \
			return -EBADMSG;                                       \
	} while (0)

void espm_put_hdr(struct wr *w, const struct espm_hdr *h)
{
	wr_u16(w, h->type);
	wr_u16(w, h->flags);
	wr_u32(w, h->seq);
	wr_u32(w, (uint32_t)h->status);
}

int espm_get_hdr(struct rd *r, struct espm_hdr *h)
{
	uint32_t st;
	GET(rd_u16(r, &h->type));
	GET(rd_u16(r, &h->flags));
	GET(rd_u32(r, &h->seq));
	GET(rd_u32(r, &st));
	h->status = (int32_t)st;
	return 0;
}

void espm_put_kaddr(struct wr *w, const struct kaddr *a)
{
	wr_u8(w, a->af);
	wr_bytes(w, a->u.b, 16);
}

int espm_get_kaddr(struct rd *r, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	GET(rd_u8(r, &a->af));
	GET(rd_bytes(r, a->u.b, 16));
	if (a->af != 0 && a->af != AF_INET && a->af != AF_INET6)
		return -EBADMSG;
	if (a->af == AF_INET)
		memset(a->u.b + 4, 0, 12);
	return 0;
}

void espm_put_ksel(struct wr *w, const struct ksel *s)
{
	wr_u8(w, s->af);
	wr_u8(w, s->proto);
	wr_u8(w, s->src_plen);
	wr_u8(w, s->dst_plen);
	espm_put_kaddr(w, &s->src);
	espm_put_kaddr(w, &s->dst);
	wr_u16(w, s->sport);
	wr_u16(w, s->dport);
	wr_u16(w, s->sport_mask);
	wr_u16(w, s->dport_mask);
	wr_u32(w, s->ifindex);
}

int espm_get_ksel(struct rd *r, struct ksel *s)
{
	unsigned max;

	memset(s, 0, sizeof(*s));
	GET(rd_u8(r, &s->af));
	GET(rd_u8(r, &s->proto));
	GET(rd_u8(r, &s->src_plen));
	GET(rd_u8(r, &s->dst_plen));
	GET(espm_get_kaddr(r, &s->src));
	GET(espm_get_kaddr(r, &s->dst));
	GET(rd_u16(r, &s->sport));
	GET(rd_u16(r, &s->dport));
	GET(rd_u16(r, &s->sport_mask));
	GET(rd_u16(r, &s->dport_mask));
	GET(rd_u32(r, &s->ifindex));
	if (s->af != 0 && s->af != AF_INET && s->af != AF_INET6)
		return -EBADMSG;
	max = s->af == AF_INET6 ? 128 : 32;
	if (s->src_plen > max || s->dst_plen > max)
		return -EBADMSG;
	return 0;
}

static void put_tmpl(struct wr *w, const struct ktmpl *t)
{
	wr_u8(w, t->proto);
	wr_u8(w, (uint8_t)t->mode);
	wr_u8(w, (uint8_t)t->level);
	espm_put_kaddr(w, &t->src);
	espm_put_kaddr(w, &t->dst);
	wr_u32(w, t->reqid);
}

static int get_tmpl(struct rd *r, struct ktmpl *t)
{
	uint8_t mode, level;
	GET(rd_u8(r, &t->proto));
	GET(rd_u8(r, &mode));
	GET(rd_u8(r, &level));
	GET(espm_get_kaddr(r, &t->src));
	GET(espm_get_kaddr(r, &t->dst));
	GET(rd_u32(r, &t->reqid));
	if (mode > KMODE_TUNNEL || level > KLEVEL_UNIQUE)
		return -EBADMSG;
	t->mode = (enum kmode)mode;
	t->level = (enum klevel)level;
	return 0;
}

void espm_put_kpolicy(struct wr *w, const struct kpolicy *p)
{
	espm_put_ksel(w, &p->sel);
	wr_u8(w, (uint8_t)p->dir);
	wr_u8(w, (uint8_t)p->action);
	wr_u32(w, p->priority);
	wr_u32(w, p->index);
	wr_u64(w, p->hard_add_expires_sec);
	wr_u8(w, (uint8_t)p->ntmpl);
	for (unsigned i = 0; i < p->ntmpl && i < KPOL_MAX_TMPL; i++)
		put_tmpl(w, &p->tmpl[i]);
	wr_u8(w, p->owned);
	wr_u64(w, p->cur_bytes);
	wr_u64(w, p->cur_packets);
	wr_u64(w, p->add_time);
	wr_u64(w, p->use_time);
}

int espm_get_kpolicy(struct rd *r, struct kpolicy *p)
{
	uint8_t dir, action, ntmpl, owned;

	memset(p, 0, sizeof(*p));
	GET(espm_get_ksel(r, &p->sel));
	GET(rd_u8(r, &dir));
	GET(rd_u8(r, &action));
	GET(rd_u32(r, &p->priority));
	GET(rd_u32(r, &p->index));
	GET(rd_u64(r, &p->hard_add_expires_sec));
	GET(rd_u8(r, &ntmpl));
	if (dir > KDIR_FWD || action > KPOL_BYPASS || ntmpl > KPOL_MAX_TMPL)
		return -EBADMSG;
	p->dir = (enum kdir)dir;
	p->action = (enum kaction)action;
	p->ntmpl = ntmpl;
	for (unsigned i = 0; i < ntmpl; i++)
		GET(get_tmpl(r, &p->tmpl[i]));
	GET(rd_u8(r, &owned));
	p->owned = owned != 0;
	GET(rd_u64(r, &p->cur_bytes));
	GET(rd_u64(r, &p->cur_packets));
	GET(rd_u64(r, &p->add_time));
	GET(rd_u64(r, &p->use_time));
	return 0;
}

void espm_put_ksa(struct wr *w, const struct ksa *sa, bool with_keys)
{
	wr_u8(w, sa->proto);
	wr_u32(w, sa->spi);
	espm_put_kaddr(w, &sa->src);
	espm_put_kaddr(w, &sa->dst);
	wr_u8(w, (uint8_t)sa->mode);
	wr_u32(w, sa->reqid);
	espm_put_ksel(w, &sa->sel);
	wr_u16(w, sa->encr_id);
	wr_u16(w, sa->encr_keybits);
	wr_u16(w, sa->integ_id);
	wr_u16(w, sa->comp_id);
	wr_u16(w, with_keys ? sa->enc_key_len : 0);
	if (with_keys)
		wr_bytes(w, sa->enc_key, sa->enc_key_len);
	wr_u16(w, with_keys ? sa->auth_key_len : 0);
	if (with_keys)
		wr_bytes(w, sa->auth_key, sa->auth_key_len);
	wr_u8(w, sa->esn);
	wr_u32(w, sa->replay_window);
	wr_u8(w, sa->encap.enabled);
	wr_u16(w, sa->encap.sport);
	wr_u16(w, sa->encap.dport);
	espm_put_kaddr(w, &sa->encap.oa);
	wr_u64(w, sa->lft.soft_bytes);
	wr_u64(w, sa->lft.hard_bytes);
	wr_u64(w, sa->lft.soft_packets);
	wr_u64(w, sa->lft.hard_packets);
	wr_u64(w, sa->lft.soft_add_sec);
	wr_u64(w, sa->lft.hard_add_sec);
	wr_u64(w, sa->lft.soft_use_sec);
	wr_u64(w, sa->lft.hard_use_sec);
	wr_u8(w, sa->update);
}

int espm_get_ksa(struct rd *r, struct ksa *sa)
{
	uint8_t mode, b;

	memset(sa, 0, sizeof(*sa));
	GET(rd_u8(r, &sa->proto));
	GET(rd_u32(r, &sa->spi));
	GET(espm_get_kaddr(r, &sa->src));
	GET(espm_get_kaddr(r, &sa->dst));
	GET(rd_u8(r, &mode));
	if (mode > KMODE_TUNNEL)
		return -EBADMSG;
	sa->mode = (enum kmode)mode;
	GET(rd_u32(r, &sa->reqid));
	GET(espm_get_ksel(r, &sa->sel));
	GET(rd_u16(r, &sa->encr_id));
	GET(rd_u16(r, &sa->encr_keybits));
	GET(rd_u16(r, &sa->integ_id));
	GET(rd_u16(r, &sa->comp_id));
	GET(rd_u16(r, &sa->enc_key_len));
	if (sa->enc_key_len > KSA_MAX_KEY)
		return -EBADMSG;
	GET(rd_bytes(r, sa->enc_key, sa->enc_key_len));
	GET(rd_u16(r, &sa->auth_key_len));
	if (sa->auth_key_len > KSA_MAX_KEY)
		return -EBADMSG;
	GET(rd_bytes(r, sa->auth_key, sa->auth_key_len));
	GET(rd_u8(r, &b));
	sa->esn = b != 0;
	GET(rd_u32(r, &sa->replay_window));
	GET(rd_u8(r, &b));
	sa->encap.enabled = b != 0;
	GET(rd_u16(r, &sa->encap.sport));
	GET(rd_u16(r, &sa->encap.dport));
	GET(espm_get_kaddr(r, &sa->encap.oa));
	GET(rd_u64(r, &sa->lft.soft_bytes));
	GET(rd_u64(r, &sa->lft.hard_bytes));
	GET(rd_u64(r, &sa->lft.soft_packets));
	GET(rd_u64(r, &sa->lft.hard_packets));
	GET(rd_u64(r, &sa->lft.soft_add_sec));
	GET(rd_u64(r, &sa->lft.hard_add_sec));
	GET(rd_u64(r, &sa->lft.soft_use_sec));
	GET(rd_u64(r, &sa->lft.hard_use_sec));
	GET(rd_u8(r, &b));
	sa->update = b != 0;
	return 0;
}

void espm_put_kcounters(struct wr *w, const struct kcounters *c)
{
	wr_u64(w, c->bytes);
	wr_u64(w, c->packets);
	wr_u64(w, c->add_time);
	wr_u64(w, c->use_time);
	wr_u32(w, c->replay_drops);
	wr_u32(w, c->integrity_drops);
}

int espm_get_kcounters(struct rd *r, struct kcounters *c)
{
	memset(c, 0, sizeof(*c));
	GET(rd_u64(r, &c->bytes));
	GET(rd_u64(r, &c->packets));
	GET(rd_u64(r, &c->add_time));
	GET(rd_u64(r, &c->use_time));
	GET(rd_u32(r, &c->replay_drops));
	GET(rd_u32(r, &c->integrity_drops));
	return 0;
}

/* selector, dir, u8 n, n x (proto, mode, reqid, 4 addresses), encap */
void espm_put_kmigrate(struct wr *w, const struct kmigrate_req *q)
{
	unsigned n = q->n > KMIGRATE_MAX ? KMIGRATE_MAX : q->n;

	espm_put_ksel(w, &q->sel);
	wr_u8(w, (uint8_t)q->dir);
	wr_u8(w, (uint8_t)n);
	for (unsigned i = 0; i < n; i++) {
		const struct kmigrate *m = &q->m[i];

		wr_u8(w, m->proto);
		wr_u8(w, (uint8_t)m->mode);
		wr_u32(w, m->reqid);
		espm_put_kaddr(w, &m->old_src);
		espm_put_kaddr(w, &m->old_dst);
		espm_put_kaddr(w, &m->new_src);
		espm_put_kaddr(w, &m->new_dst);
	}
	wr_u8(w, q->has_encap);
	wr_u8(w, q->encap.enabled);
	wr_u16(w, q->encap.sport);
	wr_u16(w, q->encap.dport);
	espm_put_kaddr(w, &q->encap.oa);
}

static int get_dir(struct rd *r, enum kdir *d);

int espm_get_kmigrate(struct rd *r, struct kmigrate_req *q)
{
	uint8_t n, mode, b;

	memset(q, 0, sizeof(*q));
	GET(espm_get_ksel(r, &q->sel));
	GET(get_dir(r, &q->dir));
	GET(rd_u8(r, &n));
	if (n == 0 || n > KMIGRATE_MAX)
		return -EBADMSG;
	for (unsigned i = 0; i < n; i++) {
		struct kmigrate *m = &q->m[i];

		GET(rd_u8(r, &m->proto));
		GET(rd_u8(r, &mode));
		if (mode > KMODE_TUNNEL)
			return -EBADMSG;
		m->mode = (enum kmode)mode;
		GET(rd_u32(r, &m->reqid));
		GET(espm_get_kaddr(r, &m->old_src));
		GET(espm_get_kaddr(r, &m->old_dst));
		GET(espm_get_kaddr(r, &m->new_src));
		GET(espm_get_kaddr(r, &m->new_dst));
	}
	q->n = n;
	GET(rd_u8(r, &b));
	q->has_encap = b != 0;
	GET(rd_u8(r, &b));
	q->encap.enabled = b != 0;
	GET(rd_u16(r, &q->encap.sport));
	GET(rd_u16(r, &q->encap.dport));
	GET(espm_get_kaddr(r, &q->encap.oa));
	return 0;
}

void espm_put_kevent(struct wr *w, const struct kevent *ev)
{
	wr_u8(w, (uint8_t)ev->type);
	switch (ev->type) {
	case KEV_ACQUIRE:
		espm_put_ksel(w, &ev->u.acquire.sel);
		espm_put_kaddr(w, &ev->u.acquire.src);
		espm_put_kaddr(w, &ev->u.acquire.dst);
		wr_u32(w, ev->u.acquire.pol_index);
		wr_u8(w, (uint8_t)ev->u.acquire.dir);
		put_tmpl(w, &ev->u.acquire.tmpl);
		break;
	case KEV_EXPIRE:
		wr_u8(w, ev->u.expire.proto);
		wr_u32(w, ev->u.expire.spi);
		espm_put_kaddr(w, &ev->u.expire.dst);
		wr_u32(w, ev->u.expire.reqid);
		wr_u8(w, ev->u.expire.hard);
		break;
	case KEV_POL_EXPIRE:
		wr_u32(w, ev->u.pol_expire.index);
		wr_u8(w, (uint8_t)ev->u.pol_expire.dir);
		espm_put_ksel(w, &ev->u.pol_expire.sel);
		wr_u8(w, ev->u.pol_expire.hard);
		break;
	case KEV_MIGRATE:
		espm_put_kmigrate(w, &ev->u.migrate);
		break;
	case KEV_MAPPING:
		wr_u8(w, ev->u.mapping.proto);
		wr_u32(w, ev->u.mapping.spi);
		espm_put_kaddr(w, &ev->u.mapping.dst);
		espm_put_kaddr(w, &ev->u.mapping.old_addr);
		espm_put_kaddr(w, &ev->u.mapping.new_addr);
		wr_u16(w, ev->u.mapping.old_port);
		wr_u16(w, ev->u.mapping.new_port);
		break;
	case KEV_RESYNC:
		espm_put_str(w, ev->u.resync.reason);
		break;
	}
}

static int get_dir(struct rd *r, enum kdir *d)
{
	uint8_t v;
	GET(rd_u8(r, &v));
	if (v > KDIR_FWD)
		return -EBADMSG;
	*d = (enum kdir)v;
	return 0;
}

int espm_get_kevent(struct rd *r, struct kevent *ev)
{
	uint8_t type, b;

	memset(ev, 0, sizeof(*ev));
	GET(rd_u8(r, &type));
	ev->type = (enum kevent_type)type;
	switch (type) {
	case KEV_ACQUIRE:
		GET(espm_get_ksel(r, &ev->u.acquire.sel));
		GET(espm_get_kaddr(r, &ev->u.acquire.src));
		GET(espm_get_kaddr(r, &ev->u.acquire.dst));
		GET(rd_u32(r, &ev->u.acquire.pol_index));
		GET(get_dir(r, &ev->u.acquire.dir));
		GET(get_tmpl(r, &ev->u.acquire.tmpl));
		return 0;
	case KEV_EXPIRE:
		GET(rd_u8(r, &ev->u.expire.proto));
		GET(rd_u32(r, &ev->u.expire.spi));
		GET(espm_get_kaddr(r, &ev->u.expire.dst));
		GET(rd_u32(r, &ev->u.expire.reqid));
		GET(rd_u8(r, &b));
		ev->u.expire.hard = b != 0;
		return 0;
	case KEV_POL_EXPIRE:
		GET(rd_u32(r, &ev->u.pol_expire.index));
		GET(get_dir(r, &ev->u.pol_expire.dir));
		GET(espm_get_ksel(r, &ev->u.pol_expire.sel));
		GET(rd_u8(r, &b));
		ev->u.pol_expire.hard = b != 0;
		return 0;
	case KEV_MIGRATE:
		return espm_get_kmigrate(r, &ev->u.migrate);
	case KEV_MAPPING:
		GET(rd_u8(r, &ev->u.mapping.proto));
		GET(rd_u32(r, &ev->u.mapping.spi));
		GET(espm_get_kaddr(r, &ev->u.mapping.dst));
		GET(espm_get_kaddr(r, &ev->u.mapping.old_addr));
		GET(espm_get_kaddr(r, &ev->u.mapping.new_addr));
		GET(rd_u16(r, &ev->u.mapping.old_port));
		GET(rd_u16(r, &ev->u.mapping.new_port));
		return 0;
	case KEV_RESYNC:
		return espm_get_str(r, ev->u.resync.reason,
				    sizeof(ev->u.resync.reason));
	default:
		return -EBADMSG;
	}
}

void espm_put_str(struct wr *w, const char *s)
{
	size_t n = strlen(s);
	if (n > 255)
		n = 255;
	wr_u16(w, (uint16_t)n);
	wr_bytes(w, s, n);
}

int espm_get_str(struct rd *r, char *buf, size_t size)
{
	uint16_t n;
	GET(rd_u16(r, &n));
	if ((size_t)n >= size)
		return -EBADMSG;
	GET(rd_bytes(r, buf, n));
	buf[n] = 0;
	return 0;
}
