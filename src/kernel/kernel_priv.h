/*
 * kernel_priv.h - helpers shared by the kernel backends (not for daemons).
 *
 * The algorithm tables map IKEv2 transform IDs (RFC 7296 §3.3.2, IANA
 * "IKEv2 Transform Attribute" registry) to key sizes and to the names the
 * Linux crypto API uses; ksa_validate()/kpolicy_validate() implement the
 * checks every backend applies before touching its store, so that the
 * fake backend accepts exactly what the XFRM backend accepts.
 *
 * All tables are static const; nothing here allocates.
 */
#ifndef RACOON_KERNEL_PRIV_H
#define RACOON_KERNEL_PRIV_H

#include "crypto/xform.h" /* the IKEv2 transform IDs */
#include "kernel/kernel.h"

struct kalg_encr {
	uint16_t id;
	const char *xfrm_name;
	uint8_t salt;	   /* bytes of salt/nonce appended to the key */
	uint16_t icv_bits; /* AEAD only */
	bool aead;
	bool fixed;	     /* no Key Length attribute: keybits 0 canonical */
	uint16_t keybits[3]; /* accepted key sizes, 0 = unused slot */
};

struct kalg_integ {
	uint16_t id;
	const char *xfrm_name;
	uint16_t key_len; /* bytes */
	uint16_t trunc_bits;
};

const struct kalg_encr *kalg_encr_by_id(uint16_t id);
const struct kalg_integ *kalg_integ_by_id(uint16_t id);
/* Reverse lookups used when decoding kernel replies. */
const struct kalg_encr *kalg_encr_by_name(const char *name, bool aead,
					  uint16_t icv_bits);
const struct kalg_integ *kalg_integ_by_name(const char *name,
					    uint16_t trunc_bits);

/*
 * Generic sanity checks on an SA or policy; on failure return -EINVAL
 * (or -EOPNOTSUPP) and write a reason to err.
 */
int ksa_validate(const struct ksa *sa, char *err, size_t errlen);
int kpolicy_validate(const struct kpolicy *p, char *err, size_t errlen);
int ksel_validate(const struct ksel *s, char *err, size_t errlen);

/* Number of address bytes for an address family (4, 16 or 0). */
size_t kaf_len(uint8_t af);

/* The ownership index scheme (see kernel.h KPOL_INDEX_*). */
static inline uint32_t kpol_index_make(uint32_t serial, enum kdir dir)
{
	return (uint32_t)KPOL_INDEX_MAGIC << 24 |
	       (serial & KPOL_INDEX_SERIAL_MAX) << 3 | (uint32_t)dir;
}

static inline uint32_t kpol_index_serial(uint32_t index)
{
	return (index >> 3) & KPOL_INDEX_SERIAL_MAX;
}

/*
 * Serial allocator for owned policy indexes: a bitmap of serials in use
 * plus a rotating cursor, so numbers are reused only after a wrap.
 */
struct kpol_serials {
	uint8_t *bits; /* KPOL_INDEX_SERIAL_MAX + 1 bits, owned */
	uint32_t next;
};

int kpol_serials_init(struct kpol_serials *s);
void kpol_serials_free(struct kpol_serials *s);
/* Returns a free serial (1..MAX) and marks it used, or 0 if full. */
uint32_t kpol_serials_alloc(struct kpol_serials *s);
void kpol_serials_mark(struct kpol_serials *s, uint32_t serial, bool used);

/*
 * For pol_add/pol_update of a policy without an index: takes a serial
 * from s and gives p the owned index made of it.  *serial is the serial
 * taken (0 when p already had an index), for kpol_index_undo() should
 * the kernel refuse the policy.  -ENOSPC (reason in k->last_error) when
 * racoon2's range is full.
 */
int kpol_index_take(struct kernel *k, struct kpol_serials *s, struct kpolicy *p,
		    uint32_t *serial);
/* Gives back the serial and restores the index p had (want). */
void kpol_index_undo(struct kpol_serials *s, struct kpolicy *p, uint32_t serial,
		     uint32_t want);

/*
 * Room for element n of the array *v of *cap elements of sz bytes: the
 * capacity doubles, from 64.  -ENOMEM leaves *v and *cap as they were.
 */
int kvec_grow(void **v, size_t *cap, size_t n, size_t sz);

/*
 * The event socket's queue overflowed (ENOBUFS): events were lost that
 * nobody can ask for again.  The first overflow of a read (*overflow
 * still false) passes one KEV_RESYNC (reason "event overflow") to cb,
 * so that the owner reconciles everything at once.  Returns the number
 * of events passed (0 or 1).
 */
int kevent_overflow(bool *overflow, kevent_cb cb, void *arg);

/* snprintf into a fixed buffer, never failing. */
void kerr_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
