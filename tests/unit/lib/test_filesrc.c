/*
 * test_filesrc.c - lib/filesrc: what the privileged parent records is
 * what the engine replays (files, stat, glob, secrets, errors), chunked
 * items reassemble, private keys never leave the parent, and a replay
 * answers nothing it was not sent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/filesrc.h"
#include "lib/util.h"

static char dir[64];

static void put(const char *name, const char *text, size_t len, mode_t m)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	chmod(p, m);
}

static const char *path(const char *name)
{
	static char p[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* The items as the priv channel carries them. */
struct items {
	uint8_t *buf[4096];
	size_t len[4096];
	size_t n;
};

static int emit(void *arg, const struct wr *w)
{
	struct items *it = arg;

	assert_true(it->n < 4096);
	assert_true(w->len <= FILESRC_CHUNK + 8192);
	it->buf[it->n] = malloc(w->len);
	memcpy(it->buf[it->n], w->buf, w->len);
	it->len[it->n++] = w->len;
	return 0;
}

static const char cert_and_key[] =
    "subject=CN=me\n"
    "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
    "-----BEGIN PRIVATE KEY-----\nMIIEsecretsecret\n"
    "-----END PRIVATE KEY-----\n"
    "-----BEGIN EC PRIVATE KEY-----\nMHcsecret2\n"
    "-----END EC PRIVATE KEY-----\n"
    "tail\n";

static void test_record_replay(void **state)
{
	static struct items it;
	uint8_t *b, big[200000];
	size_t len, n;
	char **g;
	uint8_t psk[64];
	struct stat st;

	(void)state;
	memset(big, 'x', sizeof(big));
	put("main.conf", "include \"inc/*.conf\";\n", 22, 0644);
	mkdir(path("inc"), 0755);
	put("inc/a.conf", "a;\n", 3, 0644);
	put("inc/b.conf", "b;\n", 3, 0644);
	put("big.pem", (const char *)big, sizeof(big), 0644);
	put("cert.pem", cert_and_key, sizeof(cert_and_key) - 1, 0644);
	put("psk", "secret\n", 7, 0600);
	put("badpsk", "open\n", 5, 0644);

	/* the parent reads, recording */
	filesrc_record_start();
	assert_int_equal(filesrc_read(path("main.conf"), 0, 1 << 20, &b, &len,
				      NULL, NULL, 0),
			 0);
	filesrc_free_buf(b, len);
	assert_int_equal(filesrc_glob(path("inc/*.conf"), &g, &n), 0);
	assert_int_equal(n, 2);
	filesrc_glob_free(g, n);
	assert_int_equal(
	    filesrc_read(path("big.pem"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    0);
	assert_int_equal(len, sizeof(big));
	filesrc_free_buf(b, len);
	assert_int_equal(
	    filesrc_read(path("cert.pem"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    0);
	/* the parent itself sees the key */
	assert_non_null(strstr((char *)b, "MIIEsecretsecret"));
	filesrc_free_buf(b, len);
	assert_int_equal(
	    filesrc_read(path("missing"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    -ENOENT);
	assert_int_equal(filesrc_stat(path("psk"), &st), 0);
	assert_int_equal(read_file_secret(path("psk"), psk, sizeof(psk), &len),
			 0);
	assert_int_equal(
	    read_file_secret(path("badpsk"), psk, sizeof(psk), &len), -EPERM);
	it.n = 0;
	assert_int_equal(filesrc_record_foreach(emit, &it), 0);
	filesrc_record_stop();
	assert_true(it.n > 8); /* big.pem took several chunks */

	/* the files go away: the engine has only the items */
	unlink(path("main.conf"));
	unlink(path("cert.pem"));
	filesrc_replay_reset();
	for (size_t i = 0; i < it.n; i++) {
		struct rd r = rd_init(it.buf[i], it.len[i]);
		assert_int_equal(filesrc_replay_item(&r), 0);
		free(it.buf[i]);
	}
	filesrc_replay_begin();
	assert_int_equal(filesrc_read(path("main.conf"), 0, 1 << 20, &b, &len,
				      NULL, NULL, 0),
			 0);
	assert_memory_equal(b, "include", 7);
	filesrc_free_buf(b, len);
	assert_int_equal(filesrc_glob(path("inc/*.conf"), &g, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(g[0], path("inc/a.conf"));
	filesrc_glob_free(g, n);
	assert_int_equal(
	    filesrc_read(path("big.pem"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(b, big, sizeof(big));
	filesrc_free_buf(b, len);
	/* private key blocks withheld, the rest intact */
	assert_int_equal(
	    filesrc_read(path("cert.pem"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    0);
	assert_null(strstr((char *)b, "secret"));
	assert_null(strstr((char *)b, "PRIVATE"));
	assert_non_null(strstr((char *)b, "MIIBcert"));
	assert_non_null(strstr((char *)b, "tail\n"));
	filesrc_free_buf(b, len);
	assert_int_equal(
	    filesrc_read(path("missing"), 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    -ENOENT);
	assert_int_equal(filesrc_stat(path("psk"), &st), 0);
	assert_int_equal(read_file_secret(path("psk"), psk, sizeof(psk), &len),
			 0);
	assert_int_equal(len, 7);
	assert_memory_equal(psk, "secret\n", 7);
	/* the parent refused it: so does the replay */
	assert_int_equal(
	    read_file_secret(path("badpsk"), psk, sizeof(psk), &len), -EPERM);
	/* nothing that was not sent */
	assert_int_equal(
	    filesrc_read("/etc/passwd", 0, 1 << 20, &b, &len, NULL, NULL, 0),
	    -ENOENT);
	assert_int_equal(filesrc_stat("/etc/passwd", &st), -ENOENT);
	filesrc_replay_end();
}

/* Malformed items are refused. */
static void test_bad_items(void **state)
{
	static const uint8_t junk[][12] = {
	    {0},
	    {9, 0, 0, 0, 0},
	};
	struct wr w;
	struct rd r;

	(void)state;
	filesrc_replay_reset();
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		r = rd_init(junk[i], sizeof(junk[i]));
		assert_int_equal(filesrc_replay_item(&r), -EBADMSG);
	}
	/* a chunk past the announced total */
	wr_init(&w, 256);
	wr_u8(&w, 1);
	wr_u32(&w, 0);
	wr_u32(&w, 0100644);
	wr_u32(&w, 0);
	wr_u16(&w, 2);
	wr_bytes(&w, "/x", 2);
	wr_u32(&w, 3);
	wr_u32(&w, 0);
	wr_bytes(&w, "abcd", 4);
	r = rd_init(w.buf, w.len);
	assert_int_equal(filesrc_replay_item(&r), -EBADMSG);
	wr_free(&w);
	filesrc_replay_reset();
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/r2-filesrc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_replay),
	    cmocka_unit_test(test_bad_items),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
