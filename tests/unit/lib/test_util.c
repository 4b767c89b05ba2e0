/*
 * test_util.c - src/lib/util.h: hex encode/decode (strict), str_copy
 * truncation, read_file_secret permission policy and size limits,
 * set_nonblock_cloexec.
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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/log.h"
#include "lib/util.h"

static void test_hex_encode(void **state)
{
	static const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[13];

	(void)state;
	assert_int_equal(hex_encode(b, sizeof(b), out, sizeof(out)), 12);
	assert_string_equal(out, "00017f80abff");
	/* One byte short of room for the NUL. */
	assert_int_equal(hex_encode(b, sizeof(b), out, 12), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(hex_encode(b, 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(hex_encode(b, 0, out, 0), -ENOSPC);
	assert_int_equal(hex_encode(b, SIZE_MAX, out, sizeof(out)), -ENOSPC);
}

static void test_hex_decode(void **state)
{
	uint8_t out[8];
	size_t n = 99;

	(void)state;
	assert_int_equal(hex_decode("00017F80abFF", 12, out, sizeof(out), &n),
			 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x00\x01\x7f\x80\xab\xff", 6);
	/* Empty is valid and empty. */
	assert_int_equal(hex_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hex_decode(NULL, 0, out, 0, &n), 0);
	/* Exactly fits / one byte too many. */
	assert_int_equal(hex_decode("0102030405060708", 16, out, 8, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(hex_decode("010203040506070809", 18, out, 8, &n),
			 -ENOSPC);
	assert_int_equal(n, 0);
	/* Strict: odd length, non-hex, prefix, spaces, sign, NUL inside. */
	static const char *bad[] = {
	    "0",  "abc", "0x12", " 12", "12 ", "1g",
	    "g1", "+1",	 "-1",	 "1:2", "zz",  "\xff\xff",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0x77, sizeof(out));
		assert_int_equal(
		    hex_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n),
		    -EINVAL);
		assert_int_equal(n, 0);
	}
	assert_int_equal(hex_decode("12\0"
				    "4",
				    4, out, sizeof(out), &n),
			 -EINVAL);
	/* A bad digit late in the string: what was decoded is wiped. */
	memset(out, 0x77, sizeof(out));
	assert_int_equal(hex_decode("aabbccxx", 8, out, sizeof(out), &n),
			 -EINVAL);
	for (i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(hex_decode(NULL, 2, out, sizeof(out), &n), -EINVAL);
}

static void test_hex_roundtrip(void **state)
{
	uint8_t b[256], back[256];
	char s[513];
	size_t n, len;

	(void)state;
	for (n = 0; n < sizeof(b); n++)
		b[n] = (uint8_t)n;
	for (len = 0; len <= sizeof(b); len += 17) {
		assert_int_equal(hex_encode(b, len, s, sizeof(s)),
				 (int)(2 * len));
		assert_int_equal(hex_decode(s, 2 * len, back, sizeof(back), &n),
				 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, b, len);
	}
}

static void test_str_copy(void **state)
{
	char d[6];

	(void)state;
	assert_int_equal(str_copy(d, "abc", sizeof(d)), 0);
	assert_string_equal(d, "abc");
	assert_int_equal(str_copy(d, "abcde", sizeof(d)), 0); /* exactly */
	assert_string_equal(d, "abcde");
	assert_int_equal(str_copy(d, "abcdef", sizeof(d)), -ENOSPC);
	assert_string_equal(d, "abcde");
	assert_int_equal(str_copy(d, "", sizeof(d)), 0);
	assert_string_equal(d, "");
	assert_int_equal(str_copy(d, "x", 1), -ENOSPC);
	assert_string_equal(d, "");
	d[0] = 'q';
	assert_int_equal(str_copy(d, "x", 0), -ENOSPC);
	assert_int_equal(d[0], 'q'); /* size 0: untouched */
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/r2lib-test-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void make_file(const char *name, const char *content, size_t len,
		      mode_t mode, char *path, size_t pathsize)
{
	int fd;

	snprintf(path, pathsize, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_secret_ok(void **state)
{
	char path[128], why[256];
	uint8_t buf[16];
	size_t len = 99;

	(void)state;
	make_file("psk", "secret", 6, 0600, path, sizeof(path));
	assert_int_equal(read_file_secret(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "secret", 6);
	assert_int_equal(check_file_secret(path, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* 0400 is fine too. */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(read_file_secret(path, buf, sizeof(buf), &len), 0);
	/* Exactly maxlen. */
	make_file("psk16", "0123456789abcdef", 16, 0600, path, sizeof(path));
	assert_int_equal(read_file_secret(path, buf, 16, &len), 0);
	assert_int_equal(len, 16);
	/* Empty file. */
	make_file("empty", "", 0, 0600, path, sizeof(path));
	assert_int_equal(read_file_secret(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
}

static void test_secret_refused(void **state)
{
	static const mode_t bad[] = {0640, 0604, 0620, 0602, 0610,
				     0601, 0644, 0666, 0777, 0660};
	char path[128], why[256];
	uint8_t buf[16];
	size_t len = 99, i;

	(void)state;
	log_set_level(LOG_LVL_ERR);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_file("open", "secret", 6, bad[i], path, sizeof(path));
		memset(buf, 0x77, sizeof(buf));
		assert_int_equal(read_file_secret_why(path, buf, sizeof(buf),
						      &len, why, sizeof(why)),
				 -EPERM);
		assert_int_equal(len, 0);
		assert_non_null(strstr(why, "group or other"));
		assert_non_null(strstr(why, path));
		assert_int_equal(check_file_secret(path, why, sizeof(why)),
				 -EPERM);
		/* Nothing of the secret read into buf. */
		assert_int_equal(buf[0], 0x77);
	}
	/* The logging variant refuses the same way. */
	assert_int_equal(read_file_secret(path, buf, sizeof(buf), &len),
			 -EPERM);
	/* Not a regular file. */
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(read_file_secret_why(tmpdir, buf, sizeof(buf), &len,
					      why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "not a regular file"));
	/* Missing. */
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	assert_int_equal(read_file_secret_why(path, buf, sizeof(buf), &len, why,
					      sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "No such file"));
	assert_int_equal(check_file_secret(path, NULL, 0), -ENOENT);
	/* Too large: buf wiped. */
	make_file("big", "0123456789abcdefX", 17, 0600, path, sizeof(path));
	assert_int_equal(
	    read_file_secret_why(path, buf, 16, &len, why, sizeof(why)),
	    -EFBIG);
	assert_int_equal(len, 0);
	for (i = 0; i < 16; i++)
		assert_int_equal(buf[i], 0);
	assert_non_null(strstr(why, "larger than 16"));
	/* why may be NULL. */
	assert_int_equal(read_file_secret_why(path, buf, 16, &len, NULL, 0),
			 -EFBIG);
	/* Owner check: only meaningful as root (chown to nobody). */
	if (geteuid() == 0) {
		make_file("other", "s", 1, 0600, path, sizeof(path));
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(read_file_secret_why(path, buf, sizeof(buf),
						      &len, why, sizeof(why)),
				 -EPERM);
		assert_non_null(strstr(why, "owned by uid 65534"));
	}
	log_set_level(LOG_LVL_INFO);
}

static void test_nonblock_cloexec(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(set_nonblock_cloexec(p[0]), 0);
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
	assert_int_equal(set_nonblock_cloexec(p[0]), -EBADF);
	assert_int_equal(set_nonblock_cloexec(-1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_encode),
	    cmocka_unit_test(test_hex_decode),
	    cmocka_unit_test(test_hex_roundtrip),
	    cmocka_unit_test(test_str_copy),
	    cmocka_unit_test(test_secret_ok),
	    cmocka_unit_test(test_secret_refused),
	    cmocka_unit_test(test_nonblock_cloexec),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
