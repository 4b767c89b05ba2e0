/*
 * kink_qm.h - the Quick Mode rules of KINK (RFC 4430 §4.2, RFC 2409 §5.5)
 * that need neither Kerberos nor a kernel, so that unit tests reach them:
 * the KEYMAT seed with and without PFS, the responder's PFS decision and
 * the comparison of ID payloads.
 */
#ifndef RACOON_KINK_QM_H
#define RACOON_KINK_QM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isakmp/isakmp.h"

/* The IKEv2 number of MODP 2048, the PFS group when need_pfs is on and
 * the kink block names no kmp_dh_group (iked's default too). */
#define KINK_PFS_DEFAULT_GROUP 14

/*
 * RFC 2409 §5.5 with PFS: the prf input of KEYMAT is
 *   [g(qm)^xy |] protocol | SPI | Ni_b [| Nr_b]
 * (RFC 4430 §4.2: SKEYID_d is the Kerberos session key; Nr only when the
 * REPLY carried a Nonce).  Writes it to out and returns its length, or 0
 * if cap is too small.
 */
size_t kink_keymat_seed(uint8_t *out, size_t cap, const uint8_t *gxy,
			size_t gxy_len, uint8_t proto, uint32_t spi,
			const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			size_t nr_len);

/*
 * The responder's PFS decision for the transform it chose: xf_group is
 * its GROUP_DESC attribute (0 = none), has_ke whether the CREATE carried
 * KE.  groups/ngroups: the kink block's kmp_dh_group (IKEv2 numbers).
 * Returns the group to use (> 0), 0 for no PFS, or -ISAKMP_N_* (the
 * Notify to refuse with): KE without a group or a group without KE is
 * malformed (RFC 2409 §5.5); need_pfs refuses a CREATE without KE
 * (fails closed); a group outside the configured list is not chosen.
 */
int kink_pfs_choose(bool need_pfs, const uint16_t *groups, size_t ngroups,
		    uint16_t xf_group, bool has_ke);

/* Two ID payloads (RFC 2407 §4.6.2) are the same identity. */
bool kink_id_eq(const struct isakmp_id *a, const struct isakmp_id *b);

#endif
