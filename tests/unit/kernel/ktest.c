/*
 * ktest.c - fixtures shared by the kernel layer's unit tests; see
 * ktest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ktest.h"

struct kaddr A(const char *s) {
	struct kaddr a;
	assert_int_equal(kaddr_parse(s, &a), 0);
	return a;
}

void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

void assert_sa_equal(const struct ksa *a, const struct ksa *b)
{
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->spi, b->spi);
	assert_true(kaddr_eq(&a->src, &b->src));
	assert_true(kaddr_eq(&a->dst, &b->dst));
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->reqid, b->reqid);
	assert_int_equal(a->encr_id, b->encr_id);
	assert_int_equal(a->encr_keybits, b->encr_keybits);
	assert_int_equal(a->integ_id, b->integ_id);
	assert_int_equal(a->comp_id, b->comp_id);
	assert_int_equal(a->enc_key_len, b->enc_key_len);
	assert_memory_equal(a->enc_key, b->enc_key, a->enc_key_len);
	assert_int_equal(a->auth_key_len, b->auth_key_len);
	assert_memory_equal(a->auth_key, b->auth_key, a->auth_key_len);
	assert_int_equal(a->esn, b->esn);
	assert_int_equal(a->replay_window, b->replay_window);
	assert_int_equal(a->encap.enabled, b->encap.enabled);
	assert_int_equal(a->encap.sport, b->encap.sport);
	assert_int_equal(a->encap.dport, b->encap.dport);
	assert_true(kaddr_eq(&a->encap.oa, &b->encap.oa));
	assert_memory_equal(&a->lft, &b->lft, sizeof(a->lft));
}
