/*
 * kink_qm.c - KINK's Quick Mode rules without Kerberos (see kink_qm.h).
 */
#include "kink/kink_qm.h"

#include <string.h>

size_t kink_keymat_seed(uint8_t *out, size_t cap, const uint8_t *gxy,
			size_t gxy_len, uint8_t proto, uint32_t spi,
			const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			size_t nr_len)
{
	size_t n = 0, need = gxy_len + 5 + ni_len + nr_len;

	if (need > cap || (gxy_len && !gxy) || (ni_len && !ni) ||
	    (nr_len && !nr))
		return 0;
	/* RFC 2409 §5.5: g(qm)^xy first, then protocol, SPI, Ni_b, Nr_b */
	if (gxy_len)
		memcpy(out, gxy, gxy_len);
	n += gxy_len;
	out[n++] = proto;
	out[n++] = (uint8_t)(spi >> 24);
	out[n++] = (uint8_t)(spi >> 16);
	out[n++] = (uint8_t)(spi >> 8);
	out[n++] = (uint8_t)spi;
	if (ni_len)
		memcpy(out + n, ni, ni_len);
	n += ni_len;
	if (nr_len)
		memcpy(out + n, nr, nr_len);
	return n + nr_len;
}

int kink_pfs_choose(bool need_pfs, const uint16_t *groups, size_t ngroups,
		    uint16_t xf_group, bool has_ke)
{
	/* RFC 2409 §5.5: KE goes with a GROUP_DESC attribute (RFC 2407
	 * §4.5) and the attribute with a KE payload */
	if (!xf_group != !has_ke)
		return -ISAKMP_N_BAD_PROPOSAL_SYNTAX;
	if (!xf_group)
		return need_pfs ? -ISAKMP_N_NO_PROPOSAL_CHOSEN : 0;
	if (ngroups) {
		for (size_t i = 0; i < ngroups; i++)
			if (groups[i] == xf_group)
				return xf_group;
		return -ISAKMP_N_NO_PROPOSAL_CHOSEN;
	}
	if (need_pfs && xf_group != KINK_PFS_DEFAULT_GROUP)
		return -ISAKMP_N_NO_PROPOSAL_CHOSEN;
	return xf_group;
}

bool kink_id_eq(const struct isakmp_id *a, const struct isakmp_id *b)
{
	return a->type == b->type && a->proto == b->proto &&
	       a->port == b->port && a->len == b->len && a->len <= 32 &&
	       memcmp(a->data, b->data, a->len) == 0;
}
