/*
 * fake.c - in-memory kernel ("fake") for unit and load tests: an SAD and
 * an SPD in arrays, with the XFRM backend's rules (same validation, same
 * EEXIST/ESRCH/ENOENT answers, same ownership index scheme, larval SAs
 * from getspi that only an update may complete).  Events are queued by
 * kfake_inject() and signalled through an eventfd, so a daemon polls the
 * fake exactly like the real event socket; kfake_lose_state() plays a
 * data plane that restarted empty (state gone, one KEV_RESYNC queued).
 *
 * Lookups go through hash indexes (lib/hidx.h) over array positions:
 * SAs by (proto, SPI), policies by (direction, selector) and by index;
 * a removal moves the last element into the hole and its entries along.
 *
 * Memory: struct fake_priv (k->priv) owns every array and index; stored
 * SAs hold keys and are wiped when removed and at close.
 */
#include "kernel/kernel.h"
#include "kernel/kernel_priv.h"
#include "lib/hidx.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct fake_sa {
	struct ksa sa;
	struct kcounters c;
	bool larval;
};

struct fake_priv {
	struct fake_sa *sas;
	size_t nsa, capsa;
	struct kpolicy *pols;
	size_t npol, cappol;
	struct hidx sa_ix, pol_sel_ix, pol_idx_ix; /* positions (see above) */
	struct kevent *evq;
	size_t nev, capev;
	int efd;
	uint32_t next_spi;
	uint32_t kernel_idx; /* like the kernel's idx_generator */
	struct kpol_serials serials;
	int fail_err;
	unsigned fail_count;
};

static struct fake_priv *F(struct kernel *k)
{
	return k->priv;
}

/* Grows *v (element size sz) so that one more element fits. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = malloc(ncap * sz);
	if (!nv)
		return -ENOMEM;
	if (*v) {
		memcpy(nv, *v, n * sz);
		mem_wipe(*v, *cap * sz); /* may hold keys */
		free(*v);
	}
	*v = nv;
	*cap = ncap;
	return 0;
}

static int injected_failure(struct kernel *k)
{
	struct fake_priv *f = F(k);

	if (!f->fail_count)
		return 0;
	f->fail_count--;
	kerr_set(k->last_error, sizeof(k->last_error),
		 "fake: injected failure (%s)", strerror(f->fail_err));
	return -f->fail_err;
}

static void fake_close(struct kernel *k)
{
	struct fake_priv *f = F(k);

	if (!f)
		return;
	if (f->sas) {
		mem_wipe(f->sas, f->capsa * sizeof(*f->sas));
		free(f->sas);
	}
	free(f->pols);
	hidx_free(&f->sa_ix);
	hidx_free(&f->pol_sel_ix);
	hidx_free(&f->pol_idx_ix);
	free(f->evq);
	kpol_serials_free(&f->serials);
	if (f->efd >= 0)
		close(f->efd);
	free(f);
	k->priv = NULL;
}

static int fake_open(struct kernel *k, unsigned flags)
{
	struct fake_priv *f = calloc(1, sizeof(*f));

	(void)flags;
	if (!f)
		return -ENOMEM;
	f->efd = -1;
	k->priv = f;
	if (kpol_serials_init(&f->serials) < 0) {
		fake_close(k);
		return -ENOMEM;
	}
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		int e = errno;
		fake_close(k);
		return -e;
	}
	f->next_spi = 0xc0000100u;
	return 0;
}

/* ---- SAD --------------------------------------------------------------- */

static uint32_t sa_hash(uint8_t proto, uint32_t spi)
{
	return hidx_hash(&spi, sizeof(spi), proto);
}

static struct fake_sa *sa_find(struct fake_priv *f, uint8_t proto,
			       const struct kaddr *dst, uint32_t spi)
{
	struct hidx_it it;
	uintptr_t i;
	bool ok;

	for (ok = hidx_first(&f->sa_ix, &it, sa_hash(proto, spi), &i); ok;
	     ok = hidx_next(&f->sa_ix, &it, &i)) {
		struct fake_sa *s = &f->sas[i];
		if (s->sa.proto == proto && s->sa.spi == spi &&
		    kaddr_eq(&s->sa.dst, dst))
			return s;
	}
	return NULL;
}

/* Appends an SA slot (zeroed) indexed under (proto, spi). */
static struct fake_sa *sa_append(struct fake_priv *f, uint8_t proto,
				 uint32_t spi)
{
	struct fake_sa *s;

	if (grow((void **)&f->sas, &f->capsa, f->nsa, sizeof(*f->sas)) < 0 ||
	    hidx_add(&f->sa_ix, sa_hash(proto, spi), f->nsa) < 0)
		return NULL;
	s = &f->sas[f->nsa++];
	memset(s, 0, sizeof(*s));
	s->sa.proto = proto;
	s->sa.spi = spi;
	return s;
}

static void sa_remove(struct fake_priv *f, struct fake_sa *s)
{
	size_t i = (size_t)(s - f->sas), last = f->nsa - 1;

	hidx_del(&f->sa_ix, sa_hash(s->sa.proto, s->sa.spi), i);
	if (i != last) {
		hidx_move(&f->sa_ix,
			  sa_hash(f->sas[last].sa.proto, f->sas[last].sa.spi),
			  last, i);
		*s = f->sas[last];
	}
	f->nsa--;
	mem_wipe(&f->sas[f->nsa], sizeof(f->sas[0]));
}

static int fake_getspi(struct kernel *k, uint8_t proto, const struct kaddr *src,
		       const struct kaddr *dst, uint32_t reqid, uint32_t *spi)
{
	struct fake_priv *f = F(k);
	struct fake_sa *s;
	int rc = injected_failure(k);

	if (rc < 0)
		return rc;
	if (src->af != dst->af || !kaf_len(dst->af))
		return -EINVAL;
	/* RFC 4303 §2.1: 1-255 reserved; a CPI is 16 bits (kernel.h) */
	do {
		*spi = f->next_spi++;
		if (*spi > k_spi_max(proto))
			*spi =
			    K_SPI_MIN + *spi % (k_spi_max(proto) - K_SPI_MIN);
		if (f->next_spi < K_SPI_MIN)
			f->next_spi = K_SPI_MIN;
	} while (sa_find(f, proto, dst, *spi));
	s = sa_append(f, proto, *spi);
	if (!s)
		return -ENOMEM;
	s->larval = true;
	s->sa.src = *src;
	s->sa.dst = *dst;
	s->sa.reqid = reqid;
	s->c.add_time = (uint64_t)time(NULL);
	return 0;
}

static int fake_sa_add(struct kernel *k, const struct ksa *sa)
{
	struct fake_priv *f = F(k);
	struct fake_sa *s;
	int rc = ksa_validate(sa, k->last_error, sizeof(k->last_error));

	if (rc < 0)
		return rc;
	rc = injected_failure(k);
	if (rc < 0)
		return rc;
	s = sa_find(f, sa->proto, &sa->dst, sa->spi);
	if (sa->update) {
		/* XFRM_MSG_UPDSA: the SA (usually larval) must exist */
		if (!s) {
			kerr_set(k->last_error, sizeof(k->last_error),
				 "update SA: no SA with SPI 0x%08x", sa->spi);
			return -ESRCH;
		}
	} else {
		if (s) {
			kerr_set(k->last_error, sizeof(k->last_error),
				 "add SA: SPI 0x%08x exists", sa->spi);
			return -EEXIST;
		}
		s = sa_append(f, sa->proto, sa->spi);
		if (!s)
			return -ENOMEM;
		s->c.add_time = (uint64_t)time(NULL);
	}
	s->sa = *sa;
	s->sa.update = false;
	s->larval = false;
	return 0;
}

static int fake_sa_del(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi)
{
	struct fake_priv *f = F(k);
	struct fake_sa *s;
	int rc = injected_failure(k);

	if (rc < 0)
		return rc;
	s = sa_find(f, proto, dst, spi);
	if (!s)
		return -ESRCH;
	sa_remove(f, s);
	return 0;
}

static int fake_sa_get(struct kernel *k, uint8_t proto, const struct kaddr *dst,
		       uint32_t spi, struct ksa *sa, struct kcounters *c)
{
	struct fake_sa *s = sa_find(F(k), proto, dst, spi);

	if (!s)
		return -ESRCH;
	if (sa)
		*sa = s->sa;
	if (c)
		*c = s->c;
	return 0;
}

static int fake_sa_query(struct kernel *k, uint8_t proto,
			 const struct kaddr *dst, uint32_t spi,
			 struct kcounters *out)
{
	return fake_sa_get(k, proto, dst, spi, NULL, out);
}

/* ---- SPD --------------------------------------------------------------- */

/* The kernel's identity of a policy: selector and direction. */
/* Hash of exactly what ksel_eq() compares, and the direction. */
static uint32_t sel_hash(const struct kpolicy *p)
{
	const struct ksel *s = &p->sel;
	uint8_t b[19 + 2 * sizeof(s->src.u.b)]; /* the scalars + 2 addresses */
	size_t n = 0, al;

	b[n++] = (uint8_t)p->dir;
	b[n++] = s->af;
	b[n++] = s->proto;
	b[n++] = s->src_plen;
	b[n++] = s->dst_plen;
	b[n++] = s->src.af;
	b[n++] = s->dst.af;
	memcpy(b + n, &s->sport, 2), n += 2;
	memcpy(b + n, &s->dport, 2), n += 2;
	memcpy(b + n, &s->sport_mask, 2), n += 2;
	memcpy(b + n, &s->dport_mask, 2), n += 2;
	memcpy(b + n, &s->ifindex, 4), n += 4;
	/* n == 19 here */
	al = kaf_len(s->src.af);
	memcpy(b + n, s->src.u.b, al), n += al;
	al = kaf_len(s->dst.af);
	memcpy(b + n, s->dst.u.b, al), n += al;
	return hidx_hash(b, n, 0);
}

static uint32_t index_hash(uint32_t index)
{
	return hidx_hash(&index, sizeof(index), 1);
}

static struct kpolicy *pol_find_sel(struct fake_priv *f,
				    const struct kpolicy *p)
{
	struct hidx_it it;
	uintptr_t i;
	bool ok;

	for (ok = hidx_first(&f->pol_sel_ix, &it, sel_hash(p), &i); ok;
	     ok = hidx_next(&f->pol_sel_ix, &it, &i))
		if (f->pols[i].dir == p->dir &&
		    ksel_eq(&f->pols[i].sel, &p->sel))
			return &f->pols[i];
	return NULL;
}

static struct kpolicy *pol_find_index(struct fake_priv *f, uint32_t index)
{
	struct hidx_it it;
	uintptr_t i;
	bool ok;

	for (ok = hidx_first(&f->pol_idx_ix, &it, index_hash(index), &i); ok;
	     ok = hidx_next(&f->pol_idx_ix, &it, &i))
		if (f->pols[i].index == index)
			return &f->pols[i];
	return NULL;
}

/* Same rule as xfrm_gen_index(): a requested index is kept when free,
 * otherwise a generated one is used. */
static uint32_t pick_index(struct fake_priv *f, uint32_t want, enum kdir dir)
{
	if (want && !pol_find_index(f, want))
		return want;
	do {
		f->kernel_idx += 8;
	} while (pol_find_index(f, f->kernel_idx | dir));
	return f->kernel_idx | dir;
}

static void pol_store(struct kpolicy *dst, const struct kpolicy *p,
		      uint32_t index)
{
	*dst = *p;
	dst->index = index;
	dst->owned = kpol_index_owned(index);
	dst->cur_bytes = dst->cur_packets = 0;
	dst->add_time = (uint64_t)time(NULL);
	dst->use_time = 0;
}

static int pol_insert(struct kernel *k, struct kpolicy *p, bool update)
{
	struct fake_priv *f = F(k);
	struct kpolicy *old;
	uint32_t serial = 0, want = p->index;
	int rc = kpolicy_validate(p, k->last_error, sizeof(k->last_error));

	if (rc < 0)
		return rc;
	rc = injected_failure(k);
	if (rc < 0)
		return rc;
	old = pol_find_sel(f, p);
	if (old && !update) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "add policy: File exists");
		return -EEXIST;
	}
	if (old) {
		/* replacing keeps the existing index, like the kernel */
		pol_store(old, p, old->index);
		p->index = old->index;
		return 0;
	}
	if (!want) {
		serial = kpol_serials_alloc(&f->serials);
		if (!serial)
			return -ENOSPC;
		want = kpol_index_make(serial, p->dir);
	}
	p->index = pick_index(f, want, p->dir);
	if (grow((void **)&f->pols, &f->cappol, f->npol, sizeof(*f->pols)) <
		0 ||
	    hidx_add(&f->pol_sel_ix, sel_hash(p), f->npol) < 0) {
		if (serial)
			kpol_serials_mark(&f->serials, serial, false);
		return -ENOMEM;
	}
	if (hidx_add(&f->pol_idx_ix, index_hash(p->index), f->npol) < 0) {
		hidx_del(&f->pol_sel_ix, sel_hash(p), f->npol);
		if (serial)
			kpol_serials_mark(&f->serials, serial, false);
		return -ENOMEM;
	}
	if (kpol_index_owned(p->index))
		kpol_serials_mark(&f->serials, kpol_index_serial(p->index),
				  true);
	pol_store(&f->pols[f->npol++], p, p->index);
	return 0;
}

static int fake_pol_add(struct kernel *k, struct kpolicy *p)
{
	return pol_insert(k, p, false);
}

static int fake_pol_update(struct kernel *k, struct kpolicy *p)
{
	return pol_insert(k, p, true);
}

static void pol_remove(struct fake_priv *f, struct kpolicy *p)
{
	size_t i = (size_t)(p - f->pols), last = f->npol - 1;

	if (p->owned)
		kpol_serials_mark(&f->serials, kpol_index_serial(p->index),
				  false);
	hidx_del(&f->pol_sel_ix, sel_hash(p), i);
	hidx_del(&f->pol_idx_ix, index_hash(p->index), i);
	if (i != last) {
		hidx_move(&f->pol_sel_ix, sel_hash(&f->pols[last]), last, i);
		hidx_move(&f->pol_idx_ix, index_hash(f->pols[last].index), last,
			  i);
		*p = f->pols[last];
	}
	f->npol--;
}

static int fake_pol_del(struct kernel *k, const struct kpolicy *p)
{
	struct fake_priv *f = F(k);
	struct kpolicy *q;
	int rc = injected_failure(k);

	if (rc < 0)
		return rc;
	if (p->index) {
		q = pol_find_index(f, p->index);
		if (q && q->dir != p->dir)
			q = NULL;
	} else {
		q = pol_find_sel(f, p);
	}
	if (!q)
		return -ENOENT;
	pol_remove(f, q);
	return 0;
}

static int fake_pol_dump(struct kernel *k, kpol_cb cb, void *arg)
{
	struct fake_priv *f = F(k);
	struct kpolicy *copy;
	size_t n = f->npol;
	int rc = 0;

	/* a snapshot, so that the callback may change the SPD */
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, f->pols, n * sizeof(*copy));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cb(&copy[i], arg);
	free(copy);
	return rc;
}

static int fake_flush_own(struct kernel *k)
{
	struct fake_priv *f = F(k);
	int removed = 0;
	int rc = injected_failure(k);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < f->npol;) {
		if (f->pols[i].owned) {
			pol_remove(f, &f->pols[i]);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

/* ---- MIGRATE ----------------------------------------------------------- */

static int queue_event(struct fake_priv *f, const struct kevent *ev);

/* net/xfrm xfrm_migrate(): the policy by exact selector and direction
 * (-ENOENT), at least one of its templates named by a pair (-ENODATA,
 * nothing changed), then the SAs of the pairs and the templates move;
 * the MIGRATE is announced as the kernel does. */
static int fake_migrate(struct kernel *k, const struct kmigrate_req *r)
{
	struct fake_priv *f = F(k);
	struct kpolicy key = {.sel = r->sel, .dir = r->dir};
	struct kevent ev = {.type = KEV_MIGRATE};
	struct kpolicy *p;
	unsigned matched = 0;
	int rc = injected_failure(k);

	if (rc < 0)
		return rc;
	p = pol_find_sel(f, &key);
	if (!p) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "fake: no policy to migrate");
		return -ENOENT;
	}
	for (unsigned i = 0; i < p->ntmpl; i++)
		if (kmigrate_tmpl(r, &p->tmpl[i]))
			matched++;
	if (!matched) {
		kerr_set(k->last_error, sizeof(k->last_error),
			 "fake: no template of the policy matches");
		return -ENODATA;
	}
	for (size_t i = 0; i < f->nsa; i++) {
		const struct kmigrate *m;

		if (f->sas[i].larval)
			continue;
		m = kmigrate_sa(r, &f->sas[i].sa);
		if (m)
			kmigrate_apply_sa(r, m, &f->sas[i].sa);
	}
	for (unsigned i = 0; i < p->ntmpl; i++) {
		const struct kmigrate *m = kmigrate_tmpl(r, &p->tmpl[i]);

		if (m)
			kmigrate_apply_tmpl(m, &p->tmpl[i]);
	}
	ev.u.migrate = *r;
	return queue_event(f, &ev);
}

/* ---- events ------------------------------------------------------------ */

static int fake_event_fd(struct kernel *k)
{
	return F(k)->efd;
}

static int fake_event_read(struct kernel *k, kevent_cb cb, void *arg)
{
	struct fake_priv *f = F(k);
	struct kevent *q = f->evq;
	size_t n = f->nev;
	uint64_t cnt;

	/* drain the counter first: events injected by cb signal anew */
	if (read(f->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	f->evq = NULL;
	f->nev = f->capev = 0;
	for (size_t i = 0; i < n; i++)
		cb(&q[i], arg);
	free(q);
	return (int)n;
}

const struct kernel_ops kernel_fake_ops = {
    .name = "fake",
    .features = KF_FWD_POLICY | KF_UDP_DECAP_KERNEL,
    .open = fake_open,
    .close = fake_close,
    .getspi = fake_getspi,
    .sa_add = fake_sa_add,
    .sa_del = fake_sa_del,
    .sa_query = fake_sa_query,
    .sa_get = fake_sa_get,
    .pol_add = fake_pol_add,
    .pol_update = fake_pol_update,
    .pol_del = fake_pol_del,
    .pol_dump = fake_pol_dump,
    .flush_own = fake_flush_own,
    .event_fd = fake_event_fd,
    .event_read = fake_event_read,
    .migrate = fake_migrate,
};

/* ---- test hooks -------------------------------------------------------- */

static struct fake_priv *fake_of(struct kernel *k)
{
	return k && k->ops == &kernel_fake_ops ? k->priv : NULL;
}

int kfake_inject(struct kernel *k, const struct kevent *ev)
{
	struct fake_priv *f = fake_of(k);

	if (!f)
		return -EINVAL;
	return queue_event(f, ev);
}

static int queue_event(struct fake_priv *f, const struct kevent *ev)
{
	uint64_t one = 1;

	if (grow((void **)&f->evq, &f->capev, f->nev, sizeof(*f->evq)) < 0)
		return -ENOMEM;
	f->evq[f->nev++] = *ev;
	if (write(f->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

size_t kfake_sa_count(struct kernel *k)
{
	struct fake_priv *f = fake_of(k);
	return f ? f->nsa : 0;
}

size_t kfake_pol_count(struct kernel *k)
{
	struct fake_priv *f = fake_of(k);
	return f ? f->npol : 0;
}

void kfake_fail_next(struct kernel *k, int err, unsigned count)
{
	struct fake_priv *f = fake_of(k);

	if (!f)
		return;
	f->fail_err = err < 0 ? -err : err;
	f->fail_count = count;
}

int kfake_lose_state(struct kernel *k, const char *reason)
{
	struct fake_priv *f = fake_of(k);
	struct kevent ev;

	if (!f)
		return -EINVAL;
	if (f->sas)
		mem_wipe(f->sas, f->capsa * sizeof(*f->sas));
	f->nsa = 0;
	f->npol = 0;
	hidx_free(&f->sa_ix);
	hidx_free(&f->pol_sel_ix);
	hidx_free(&f->pol_idx_ix);
	/* a restarted data plane hands out serials from scratch */
	kpol_serials_free(&f->serials);
	if (kpol_serials_init(&f->serials) < 0)
		return -ENOMEM;
	kevent_resync(&ev, reason);
	return kfake_inject(k, &ev);
}
