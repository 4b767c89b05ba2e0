/*
 * spdtest.h - fixture shared by spmd's policy database tests (test_spd.c,
 * test_resync.c).  Returns by value; nothing is allocated.
 */
#ifndef RACOON_TEST_SPDTEST_H
#define RACOON_TEST_SPDTEST_H

#include <stdint.h>

#include "spm/spd.h"

/*
 * The policy for dir between the prefixes src and dst (the test fails if
 * they do not parse): action act, priority 1000 and, for KPOL_IPSEC, one
 * ESP transport template of level require with reqid.  Selector and
 * policy names are left empty for the caller.
 */
struct spd_entry spdt_entry(const char *src, const char *dst, enum kdir dir,
			    enum kaction act, uint32_t reqid);

#endif
