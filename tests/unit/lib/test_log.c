/*
 * test_log.c - logging (src/lib/log.h): level names and parsing, the
 * global level and per-module overrides, the stderr line format,
 * escaping, truncation, rate limiting under a fake clock, log_hex only
 * at debug, and fatal() exiting 1.
 *
 * Output is captured with log_set_sink(); time is driven with
 * log_set_clock().
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/log.h"

#define MAX_LINES 64

static char lines[MAX_LINES][4096];
static enum log_level line_levels[MAX_LINES];
static int nlines;
static uint64_t fake_now;

static void capture(enum log_level level, const char *line)
{
	if (nlines < MAX_LINES) {
		snprintf(lines[nlines], sizeof(lines[nlines]), "%s", line);
		line_levels[nlines] = level;
	}
	nlines++;
}

static uint64_t fake_clock(void)
{
	return fake_now;
}

static int setup(void **state)
{
	(void)state;
	log_init("test", LOG_TO_STDERR, LOG_LVL_INFO);
	log_clear_module_levels();
	log_set_sink(capture);
	log_set_clock(fake_clock);
	fake_now = 1000000;
	nlines = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_sink(NULL);
	log_set_clock(NULL);
	log_clear_module_levels();
	return 0;
}

/* The message part of a captured line: after "<module>: ". */
static const char *msg_of(int i)
{
	const char *p = strstr(lines[i], ": ");

	assert_non_null(p);
	return p + 2;
}

static void test_level_names(void **state)
{
	static const char *names[] = {"err", "warn", "notice", "info", "debug"};
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(log_level_parse(names[i]), i);
		assert_string_equal(log_level_name((enum log_level)i),
				    names[i]);
	}
	assert_int_equal(log_level_parse("DEBUG"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("Warn"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERR);
	assert_int_equal(log_level_parse("warning"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse(""), -EINVAL);
	assert_int_equal(log_level_parse("debug "), -EINVAL);
	assert_int_equal(log_level_parse("verbose"), -EINVAL);
	assert_int_equal(log_level_parse("5"), -EINVAL);
	assert_int_equal(log_level_parse(NULL), -EINVAL);
	assert_string_equal(log_level_name((enum log_level)17), "unknown");
	assert_string_equal(log_level_name((enum log_level) - 1), "unknown");
}

static void test_line_format(void **state)
{
	regex_t re;
	char want[128];

	(void)state;
	log_warn("ike", "hello %s %d", "world", 42);
	assert_int_equal(nlines, 1);
	assert_int_equal(line_levels[0], LOG_LVL_WARN);
	snprintf(want, sizeof(want),
		 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
		 "\\.[0-9]{3}Z test\\[%ld\\] WARN ike: hello world 42$",
		 (long)getpid());
	assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, lines[0], 0, NULL, 0), 0);
	regfree(&re);

	log_err("spm", "e");
	log_notice("spm", "n");
	log_info("spm", "i");
	log_debug("spm", "d"); /* below INFO: dropped */
	assert_int_equal(nlines, 4);
	assert_non_null(strstr(lines[1], " ERR spm: e"));
	assert_non_null(strstr(lines[2], " NOTICE spm: n"));
	assert_non_null(strstr(lines[3], " INFO spm: i"));
	/* A NULL module does not crash. */
	log_msg(LOG_LVL_ERR, NULL, "x");
	assert_non_null(strstr(lines[4], " ERR -: x"));
	/* The ident is the basename. */
	log_init("/usr/sbin/iked", LOG_TO_STDERR, LOG_LVL_INFO);
	log_info("ike", "y");
	snprintf(want, sizeof(want), " iked[%ld] INFO ike: y", (long)getpid());
	assert_non_null(strstr(lines[5], want));
}

static void test_global_level(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_WARN);
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
	assert_true(log_enabled(LOG_LVL_ERR, "ike"));
	assert_true(log_enabled(LOG_LVL_WARN, "ike"));
	assert_false(log_enabled(LOG_LVL_NOTICE, "ike"));
	log_info("ike", "dropped");
	log_warn("ike", "kept");
	assert_int_equal(nlines, 1);
	log_set_level(LOG_LVL_DEBUG);
	assert_true(log_enabled(LOG_LVL_DEBUG, "ike"));
	log_debug("ike", "now %d", 1);
	assert_int_equal(nlines, 2);
	assert_string_equal(msg_of(1), "now 1");
	log_set_level(LOG_LVL_ERR);
	assert_false(log_enabled(LOG_LVL_WARN, NULL));
	/* Out of range levels are clamped. */
	log_set_level((enum log_level)99);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
}

static void test_module_override(void **state)
{
	char name[32];
	int i;

	(void)state;
	log_set_level(LOG_LVL_INFO);
	assert_int_equal(log_set_module_level("ike", LOG_LVL_DEBUG), 0);
	assert_int_equal(log_set_module_level("xfrm", LOG_LVL_ERR), 0);
	assert_true(log_enabled(LOG_LVL_DEBUG, "ike"));
	assert_false(log_enabled(LOG_LVL_DEBUG, "spm"));
	assert_true(log_enabled(LOG_LVL_INFO, "spm"));
	assert_false(log_enabled(LOG_LVL_WARN, "xfrm"));
	assert_true(log_enabled(LOG_LVL_ERR, "xfrm"));
	/* Exact names only. */
	assert_false(log_enabled(LOG_LVL_DEBUG, "ik"));
	assert_false(log_enabled(LOG_LVL_DEBUG, "ikev2"));
	log_debug("ike", "a");
	log_debug("spm", "b");
	log_warn("xfrm", "c");
	log_err("xfrm", "d");
	assert_int_equal(nlines, 2);
	assert_string_equal(msg_of(0), "a");
	assert_string_equal(msg_of(1), "d");
	/* Override survives global changes; updating it in place. */
	log_set_level(LOG_LVL_ERR);
	assert_true(log_enabled(LOG_LVL_DEBUG, "ike"));
	assert_int_equal(log_set_module_level("ike", LOG_LVL_WARN), 0);
	assert_false(log_enabled(LOG_LVL_NOTICE, "ike"));
	assert_true(log_enabled(LOG_LVL_WARN, "ike"));
	/* Bad names. */
	assert_int_equal(log_set_module_level(NULL, LOG_LVL_DEBUG), -EINVAL);
	assert_int_equal(log_set_module_level("", LOG_LVL_DEBUG), -EINVAL);
	assert_int_equal(
	    log_set_module_level("a-very-long-module-name", LOG_LVL_DEBUG),
	    -EINVAL);
	/* Table full: 2 used, fill the rest, then -ENOSPC. */
	for (i = 0;; i++) {
		int rc;

		snprintf(name, sizeof(name), "m%d", i);
		rc = log_set_module_level(name, LOG_LVL_DEBUG);
		if (rc == -ENOSPC)
			break;
		assert_int_equal(rc, 0);
		assert_true(i < 1000);
	}
	assert_true(i >= 8);
	/* Existing entries can still be updated when full. */
	assert_int_equal(log_set_module_level("ike", LOG_LVL_DEBUG), 0);
	assert_true(log_enabled(LOG_LVL_DEBUG, "m0"));
	log_clear_module_levels();
	assert_false(log_enabled(LOG_LVL_DEBUG, "ike"));
	assert_int_equal(log_set_module_level("new", LOG_LVL_DEBUG), 0);
}

static void test_escape_and_truncate(void **state)
{
	char big[5000];

	(void)state;
	log_warn("ike", "peer id %s", "evil\nFAKE LINE\x1b[0m\x7f");
	assert_int_equal(nlines, 1);
	assert_null(strchr(lines[0], '\n'));
	assert_string_equal(msg_of(0),
			    "peer id evil\\x0aFAKE LINE\\x1b[0m\\x7f");
	/* High bytes (UTF-8) pass through. */
	log_warn("ike", "caf\xc3\xa9");
	assert_string_equal(msg_of(1), "caf\xc3\xa9");

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warn("ike", "%s", big);
	assert_int_equal(nlines, 3);
	assert_true(strlen(lines[2]) < 2300);
	assert_non_null(strstr(lines[2], "AAA..."));
	assert_int_equal(lines[2][strlen(lines[2]) - 1], '.');
}

static void test_rate_limit(void **state)
{
	struct log_rl rl = LOG_RL_INIT(1000, 3);
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		log_rl_msg(&rl, LOG_LVL_WARN, "ike", "bad packet %d", i);
	assert_int_equal(nlines, 3);
	assert_string_equal(msg_of(0), "bad packet 0");
	assert_string_equal(msg_of(2), "bad packet 2");
	assert_int_equal(rl.suppressed, 7);
	/* Still inside the window (interval - 1 ms). */
	fake_now += 999;
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "bad packet %d", 10);
	assert_int_equal(nlines, 3);
	assert_int_equal(rl.suppressed, 8);
	/* Window over: passes, and reports what was dropped. */
	fake_now += 1;
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "bad packet %d", 11);
	assert_int_equal(nlines, 4);
	assert_string_equal(msg_of(3),
			    "bad packet 11 (8 similar messages suppressed)");
	assert_int_equal(rl.suppressed, 0);
	/* The rest of this window's burst carries no note. */
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "x");
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "y");
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "z");
	assert_int_equal(nlines, 6);
	assert_string_equal(msg_of(5), "y");
	assert_int_equal(rl.suppressed, 1);
	/* Long silence: one message, one suppressed reported. */
	fake_now += 3600 * 1000;
	log_rl_msg(&rl, LOG_LVL_WARN, "ike", "later");
	assert_int_equal(nlines, 7);
	assert_string_equal(msg_of(6), "later (1 similar messages suppressed)");
	/* Disabled level: not printed and not counted. */
	log_rl_msg(&rl, LOG_LVL_DEBUG, "ike", "dbg");
	assert_int_equal(nlines, 7);
	assert_int_equal(rl.printed, 1);
	assert_int_equal(rl.suppressed, 0);
}

static void test_rate_limit_clock_zero(void **state)
{
	struct log_rl rl = LOG_RL_INIT(5000, 2);
	int i;

	(void)state;
	/* A clock that starts at 0 (fresh boot, fake clocks) still works. */
	fake_now = 0;
	for (i = 0; i < 5; i++)
		log_rl_msg(&rl, LOG_LVL_ERR, "spm", "m%d", i);
	assert_int_equal(nlines, 2);
	fake_now = 4999;
	log_rl_msg(&rl, LOG_LVL_ERR, "spm", "m");
	assert_int_equal(nlines, 2);
	fake_now = 5000;
	log_rl_msg(&rl, LOG_LVL_ERR, "spm", "m");
	assert_int_equal(nlines, 3);
	assert_string_equal(msg_of(2), "m (4 similar messages suppressed)");
	/* Clock going backwards (should not happen) resets the window. */
	fake_now = 10;
	log_rl_msg(&rl, LOG_LVL_ERR, "spm", "back");
	assert_int_equal(nlines, 4);
}

static void test_rl_macro(void **state)
{
	int i;

	(void)state;
	/* log_rl_warn: 10 per 5 s per call site. */
	for (i = 0; i < 25; i++)
		log_rl_warn("ike", "flood %d", i);
	assert_int_equal(nlines, 10);
	fake_now += 5000;
	log_rl_warn("ike", "other call site");
	assert_int_equal(nlines, 11);
	assert_string_equal(msg_of(10), "other call site");
}

static void test_hex(void **state)
{
	static const uint8_t key[20] = {
	    0x00, 0x01, 0xab, 0xff, 4,	5,  6,	7,  8,	9,
	    10,	  11,	12,   13,   14, 15, 16, 17, 18, 19,
	};

	(void)state;
	/* Never below debug, whatever level the caller asks for. */
	log_set_level(LOG_LVL_INFO);
	log_hex(LOG_LVL_ERR, "ike", "SK_d", key, sizeof(key));
	log_hex(LOG_LVL_DEBUG, "ike", "SK_d", key, sizeof(key));
	assert_int_equal(nlines, 0);
	log_set_module_level("ike", LOG_LVL_DEBUG);
	log_hex(LOG_LVL_ERR, "ike", "SK_d", key, sizeof(key));
	assert_int_equal(nlines, 3);
	assert_int_equal(line_levels[0], LOG_LVL_DEBUG);
	assert_string_equal(msg_of(0), "SK_d (20 bytes)");
	assert_string_equal(msg_of(1), "  0000: 00 01 ab ff 04 05 06 07 08 "
				       "09 0a 0b 0c 0d 0e 0f");
	assert_string_equal(msg_of(2), "  0010: 10 11 12 13");
	log_hex(LOG_LVL_DEBUG, "ike", "empty", key, 0);
	assert_int_equal(nlines, 4);
	assert_string_equal(msg_of(3), "empty (0 bytes)");
	log_hex(LOG_LVL_DEBUG, "ike", NULL, NULL, 5);
	assert_int_equal(nlines, 5);
	/* Other modules stay quiet. */
	log_hex(LOG_LVL_DEBUG, "spm", "x", key, 4);
	assert_int_equal(nlines, 5);
}

static void test_errno_preserved(void **state)
{
	(void)state;
	errno = EADDRINUSE;
	log_err("ike", "bind failed: %m");
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(lines[0], "Address already in use"));
}

static void test_fatal(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		log_set_sink(NULL);
		log_init("test", 0, LOG_LVL_ERR); /* no sinks: still printed */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		fatal("conf", "cannot continue: %s", "reason");
		_exit(2); /* not reached */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

static void test_stderr_and_syslog(void **state)
{
	(void)state;
	/* Real sinks: must not crash with or without a syslog daemon. */
	log_set_sink(NULL);
	log_init("test", LOG_TO_STDERR | LOG_TO_SYSLOG, LOG_LVL_DEBUG);
	log_debug("test", "unit test line to stderr and syslog (ignore)");
	log_init("test", LOG_TO_STDERR, LOG_LVL_INFO);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_level_names),
	    T(test_line_format),
	    T(test_global_level),
	    T(test_module_override),
	    T(test_escape_and_truncate),
	    T(test_rate_limit),
	    T(test_rate_limit_clock_zero),
	    T(test_rl_macro),
	    T(test_hex),
	    T(test_errno_preserved),
	    T(test_fatal),
	    T(test_stderr_and_syslog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
