/*
 * spdtest.c - fixture shared by spmd's policy database tests; see
 * spdtest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spm/spmif_proto.h"
#include "spdtest.h"

struct spd_entry spdt_entry(const char *src, const char *dst, enum kdir dir,
			    enum kaction act, uint32_t reqid)
{
	struct spd_entry e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    spmif_parse_prefix(src, &e.kp.sel.src, &e.kp.sel.src_plen), 0);
	assert_int_equal(
	    spmif_parse_prefix(dst, &e.kp.sel.dst, &e.kp.sel.dst_plen), 0);
	e.kp.sel.af = e.kp.sel.src.af;
	e.kp.dir = dir;
	e.kp.action = act;
	e.kp.priority = 1000;
	if (act == KPOL_IPSEC) {
		e.kp.ntmpl = 1;
		e.kp.tmpl[0].proto = IPPROTO_ESP;
		e.kp.tmpl[0].mode = KMODE_TRANSPORT;
		e.kp.tmpl[0].level = KLEVEL_REQUIRE;
		e.kp.tmpl[0].reqid = reqid;
	}
	return e;
}
