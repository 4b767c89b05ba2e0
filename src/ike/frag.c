/*
 * frag.c - IKEv2 fragment reassembly (RFC 7383 §2.6); see frag.h.
 */
#include "ike/frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void ike_frag_reset(struct ike_frag_rx *rx)
{
	unsigned i;

	for (i = 0; i < IKEV2_FRAG_MAX; i++) {
		if (rx->data[i]) {
			mem_wipe(rx->data[i], rx->len[i]);
			free(rx->data[i]);
		}
	}
	free(rx->first_raw);
	memset(rx, 0, sizeof(*rx));
}

bool ike_frag_expire(struct ike_frag_rx *rx, uint64_t now_ms)
{
	if (!rx->active || now_ms - rx->start_ms < IKE_FRAG_TIMEOUT_MS)
		return false;
	ike_frag_reset(rx);
	return true;
}

int ike_frag_add(struct ike_frag_rx *rx, uint32_t mid, uint16_t num,
		 uint16_t total, uint8_t np, const uint8_t *data, size_t len,
		 const uint8_t *raw, size_t raw_len, uint64_t now_ms)
{
	uint8_t *copy;

	/* RFC 7383 §2.5: 1 <= Fragment Number <= Total Fragments. */
	if (num == 0 || total == 0 || num > total || total > IKEV2_FRAG_MAX)
		return -EINVAL;
	ike_frag_expire(rx, now_ms);
	if (rx->active && rx->mid != mid)
		ike_frag_reset(rx); /* a new message replaces the old */
	if (rx->active && total != rx->total) {
		/* §2.6: a greater Total Fragments means the sender
		 * fragmented again (smaller, PMTU discovery §2.5.2): start
		 * over with it; a smaller one is from the older series. */
		if (total < rx->total)
			return -ESTALE;
		ike_frag_reset(rx);
	}
	if (rx->active && rx->data[num - 1])
		return -EALREADY;
	if (len > IKE_FRAG_MAX_BYTES ||
	    (rx->active && rx->bytes + len > IKE_FRAG_MAX_BYTES)) {
		ike_frag_reset(rx);
		return -E2BIG;
	}
	copy = malloc(len ? len : 1);
	if (!copy) {
		ike_frag_reset(rx);
		return -ENOMEM;
	}
	if (len)
		memcpy(copy, data, len);
	if (num == 1 && raw) {
		rx->first_raw = malloc(raw_len ? raw_len : 1);
		if (!rx->first_raw) {
			free(copy);
			ike_frag_reset(rx);
			return -ENOMEM;
		}
		memcpy(rx->first_raw, raw, raw_len);
		rx->first_raw_len = raw_len;
	}
	if (!rx->active) {
		rx->active = true;
		rx->mid = mid;
		rx->total = total;
		rx->start_ms = now_ms;
	}
	if (num == 1)
		rx->first_np = np;
	rx->data[num - 1] = copy;
	rx->len[num - 1] = (uint16_t)len;
	rx->bytes += len;
	rx->count++;
	return rx->count == rx->total ? IKE_FRAG_DONE : 0;
}

long ike_frag_join(const struct ike_frag_rx *rx, uint8_t *out, size_t cap)
{
	size_t off = 0;
	unsigned i;

	if (!rx->active || rx->count != rx->total || rx->bytes > cap)
		return -ENOSPC;
	for (i = 0; i < rx->total; i++) {
		if (!rx->data[i])
			return -ENOSPC;
		memcpy(out + off, rx->data[i], rx->len[i]);
		off += rx->len[i];
	}
	return (long)off;
}
