/*
 * kpol.c - the one allocator of owned policy index serials (kernel_priv.h
 * struct kpol_serials): the fake backend, the XFRM and PF_KEY backends
 * (through kpol_index_take in kernel.c) and r2espd's SPD take their
 * serials here.  No kernel handle, so r2espd links it alone.
 */
#include <errno.h>
#include <stdlib.h>

#include "kernel/kernel_priv.h"

#define SERIAL_BYTES ((KPOL_INDEX_SERIAL_MAX + 1) / 8)

int kpol_serials_init(struct kpol_serials *s)
{
	s->bits = calloc(1, SERIAL_BYTES);
	if (!s->bits)
		return -ENOMEM;
	s->next = 1;
	return 0;
}

void kpol_serials_free(struct kpol_serials *s)
{
	free(s->bits);
	s->bits = NULL;
}

void kpol_serials_mark(struct kpol_serials *s, uint32_t serial, bool used)
{
	serial &= KPOL_INDEX_SERIAL_MAX;
	if (!s->bits)
		return;
	if (used)
		s->bits[serial / 8] |= (uint8_t)(1u << (serial % 8));
	else
		s->bits[serial / 8] &= (uint8_t) ~(1u << (serial % 8));
}

uint32_t kpol_serials_alloc(struct kpol_serials *s)
{
	if (!s->bits)
		return 0;
	for (uint32_t n = 0; n < KPOL_INDEX_SERIAL_MAX; n++) {
		uint32_t c = s->next;

		s->next = c >= KPOL_INDEX_SERIAL_MAX ? 1 : c + 1;
		if (!(s->bits[c / 8] & (1u << (c % 8)))) {
			kpol_serials_mark(s, c, true);
			return c;
		}
	}
	return 0;
}
