/*
 * kink_fuzz.c - libFuzzer harness for the KINK codec (src/kink/kink_msg.c)
 * and the Quick Mode payload codec (src/isakmp).  The first input octet
 * selects the mode:
 *   0: a KINK datagram: header, outer chain, Cksum input; the KINK_ENCRYPT
 *      body is then taken as plaintext (no key here) and parsed as the
 *      inner chain, and a KINK_ISAKMP body as a Quick Mode chain;
 *   1: a Quick Mode chain (second octet = first payload type).
 * Every Quick Mode chain that parses is rebuilt and must parse again to
 * the same SA (builder/parser agreement).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isakmp/isakmp.h"
#include "kink/kink_msg.h"
#include "lib/wr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void qm(uint8_t first, const uint8_t *p, size_t n)
{
	struct isakmp_qm a, b;
	struct wr w;
	uint8_t f2;

	if (isakmp_qm_parse(first, p, n, &a) != 0)
		return;
	wr_init(&w, 0);
	if (isakmp_qm_build(&w, &a, &f2) != 0)
		abort();
	if (isakmp_qm_parse(f2, w.buf, w.len, &b) != 0)
		abort();
	if (a.has_sa != b.has_sa || a.sa.n_props != b.sa.n_props ||
	    a.nonce_len != b.nonce_len || a.n_delete != b.n_delete ||
	    a.n_notify != b.n_notify || a.n_id != b.n_id)
		abort();
	for (size_t i = 0; i < a.sa.n_props; i++)
		if (a.sa.p[i].n_xforms != b.sa.p[i].n_xforms ||
		    memcmp(a.sa.p[i].spi, b.sa.p[i].spi, a.sa.p[i].spi_size))
			abort();
	wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kink_msg m;
	uint8_t *ck;
	size_t ck_len;

	if (size < 1)
		return 0;
	if (data[0] == 1) {
		if (size >= 2)
			qm(data[1], data + 2, size - 2);
		return 0;
	}
	if (kink_msg_parse(data + 1, size - 1, &m) != 0)
		return 0;
	if (kink_msg_cksum_input(data + 1, &m, &ck, &ck_len) == 0)
		free(ck);
	if (kink_has(&m, KINK_PL_ENCRYPT)) {
		struct kink_blob e = m.encrypt;
		if (kink_msg_parse_inner(e.p, e.len, &m) != 0)
			return 0;
	}
	if (kink_has(&m, KINK_PL_ISAKMP))
		qm(m.isakmp_first, m.isakmp.p, m.isakmp.len);
	return 0;
}
