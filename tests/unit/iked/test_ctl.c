/*
 * test_ctl.c - iked's control requests (ctl.c, ctl_request) and their
 * bounds (issue 9, defect 7): an answer larger than the cap is
 * refused with "1 answer too large", never sent as "0 ok" with an empty
 * body (as before); the default cap (256 MiB) lists thousands of SAs; requests
 * longer than 1 KiB are refused; normal requests answer.  The socket side
 * (mode, credentials, single instance) is tested in
 * tests/unit/lib/test_ctlsock.c and tests/netns/single_instance.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "ike/iked.h"
#include "lib/wr.h"

static struct iked A, Bd;

static int setup(void **st)
{
	static struct iked *const eng[] = {&A, &Bd};
	static const struct h_opts o = {.pump_limit = 1000};

	(void)st;
	h_log_init();
	h_setup(eng, 2, &o);
	h_peer_config(&A, "198.51.100.1", "198.51.100.2");
	h_peer_config(&Bd, "198.51.100.2", "198.51.100.1");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	h_teardown();
	return 0;
}

static int req(const char *line, struct wr *out)
{
	wr_reset(out);
	return ctl_request(&A, (const uint8_t *)line, strlen(line), out);
}

static bool starts(const struct wr *w, const char *s)
{
	return w->len >= strlen(s) && memcmp(w->buf, s, strlen(s)) == 0;
}

static void test_answers(void **st)
{
	struct wr out;
	char big[2048];

	(void)st;
	wr_init(&out, 0);
	assert_int_equal(req("ping\n", &out), 0);
	assert_true(starts(&out, "0 ok\npong\n"));
	assert_true(req("nosuch\n", &out) < 0);
	assert_true(starts(&out, "1 unknown command"));
	/* a request line longer than 1 KiB is not run */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "ping ", 5);
	assert_true(req(big, &out) < 0);
	assert_true(starts(&out, "1 "));
	wr_free(&out);
}

static void test_answer_cap(void **st)
{
	struct wr out;
	unsigned i;

	(void)st;
	/* ~300 octets of JSON each: 5,000 IKE SAs need ~1.5 MiB */
	for (i = 0; i < 5000; i++) {
		struct ike_sa *sa = ike_sa_new(&A, true);

		assert_non_null(sa);
		sa->state = IKE_S_ESTABLISHED;
		snprintf(sa->remote, sizeof(sa->remote), "peer");
	}
	wr_init(&out, 0);
	/* the default cap takes them all (it stopped at 1 MiB before) */
	assert_int_equal(req("show sa json\n", &out), 0);
	assert_true(starts(&out, "0 ok\n"));
	assert_true(out.len > (1u << 20));
	/* a cap of 1 MiB refuses the whole answer */
	A.ctl_out_max = 1u << 20;
	assert_int_equal(req("show sa json\n", &out), -EMSGSIZE);
	assert_true(starts(&out, "1 answer too large"));
	assert_true(out.len < 256);
	/* the text form of fewer SAs still fits */
	while (A.sas && i-- > 1000) {
		struct ike_sa *sa = A.sas;

		ike_sa_free(sa);
	}
	assert_int_equal(req("show sa\n", &out), 0);
	assert_true(starts(&out, "0 ok\nIKE #"));
	assert_true(out.len > 100000);
	A.ctl_out_max = 0;
	wr_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
