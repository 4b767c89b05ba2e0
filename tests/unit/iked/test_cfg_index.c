/*
 * test_cfg_index.c - cfg_remote_by_name's index (cfg.c): the hash built
 * by cfg_index_remotes() answers as the scan does (the first remote of a
 * name; NULL for none) over many remotes, is dropped when a remote is
 * added, and a reload -- iked.c loads a new cfg from the file and frees
 * the old one -- indexes the new remotes: renamed ones are gone, changed
 * ones carry their new settings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ike/cfg.h"

/* The scan the index replaces: the first remote of that name. */
static const struct ike_remote *scan(const struct ike_cfg *c, const char *n)
{
	size_t i;

	for (i = 0; i < c->nremote; i++)
		if (strcmp(c->remote[i].name, n) == 0)
			return &c->remote[i];
	return NULL;
}

static void test_index_matches_scan(void **state)
{
	struct ike_cfg *c = cfg_new();
	char name[CFG_NAME_MAX];
	unsigned i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 3000; i++) {
		struct ike_remote *r = cfg_add_remote(c);
		assert_non_null(r);
		/* names that share prefixes and lengths, and a repeat */
		snprintf(r->name, sizeof(r->name), "peer-%u", i % 2999);
		r->dpd_delay_sec = i + 1;
	}
	assert_int_equal(cfg_index_remotes(c), 0);
	assert_non_null(c->name_idx);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "peer-%u", i);
		assert_ptr_equal(cfg_remote_by_name(c, name), scan(c, name));
	}
	/* the repeated name: the first remote, as the scan */
	assert_int_equal(cfg_remote_by_name(c, "peer-0")->dpd_delay_sec, 1);
	assert_null(cfg_remote_by_name(c, "peer-"));
	assert_null(cfg_remote_by_name(c, ""));
	assert_null(cfg_remote_by_name(c, "peer-00"));

	/* adding a remote drops the index; the lookups scan meanwhile */
	{
		struct ike_remote *r = cfg_add_remote(c);
		assert_non_null(r);
		snprintf(r->name, sizeof(r->name), "late");
	}
	assert_null(c->name_idx);
	assert_non_null(cfg_remote_by_name(c, "late"));
	assert_int_equal(cfg_index_remotes(c), 0);
	assert_ptr_equal(cfg_remote_by_name(c, "late"), scan(c, "late"));
	assert_ptr_equal(cfg_remote_by_name(c, "peer-17"), scan(c, "peer-17"));
	cfg_free(c);
}

static void test_index_empty(void **state)
{
	struct ike_cfg *c = cfg_new();

	(void)state;
	assert_non_null(c);
	assert_int_equal(cfg_index_remotes(c), 0);
	assert_null(cfg_remote_by_name(c, "default"));
	cfg_free(c);
}

static char psk[] = "/tmp/test_cfg_index.psk.XXXXXX";

static void write_conf(const char *path, const char *prefix, unsigned n,
		       unsigned dpd)
{
	FILE *f = fopen(path, "w");
	unsigned i;

	assert_non_null(f);
	fprintf(
	    f,
	    "default { remote { ikev2 {"
	    " kmp_enc_alg { aes256_gcm16; }; kmp_prf_alg { hmac_sha2_256; };"
	    " kmp_dh_group { ecp256; }; kmp_auth_method { psk; };"
	    " pre_shared_key \"%s\"; }; }; };\n",
	    psk);
	for (i = 0; i < n; i++)
		fprintf(f,
			"remote %s%u { acceptable_kmp { ikev2; }; ikev2 {"
			" peers_ipaddr 198.51.100.%u port 500;"
			" dpd_delay %u sec; }; };\n",
			prefix, i, 1 + i % 250, dpd + i);
	fclose(f);
}

static void test_reload(void **state)
{
	char path[] = "/tmp/test_cfg_index.XXXXXX", err[256] = "";
	struct ike_cfg *old = NULL, *cur = NULL;
	char name[CFG_NAME_MAX];
	const struct ike_remote *r;
	unsigned i;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	fd = mkstemp(psk);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "cfg-index-test-psk\n", 19), 19);
	fchmod(fd, 0600);
	close(fd);
	write_conf(path, "a", 200, 10);
	assert_int_equal(cfg_load(path, &old, err, sizeof(err)), 0);
	assert_non_null(old->name_idx);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "a%u", i);
		r = cfg_remote_by_name(old, name);
		assert_non_null(r);
		assert_int_equal(r->dpd_delay_sec, 10 + i);
	}
	/* the reload: a1xx renamed to b1xx, the others' dpd_delay changed */
	write_conf(path, "a", 100, 500);
	{
		FILE *f = fopen(path, "a");
		assert_non_null(f);
		for (i = 0; i < 100; i++)
			fprintf(f,
				"remote b%u { acceptable_kmp { ikev2; }; "
				"ikev2 { peers_ipaddr 203.0.113.%u port 500; "
				"dpd_delay 7 sec; }; };\n",
				100 + i, 1 + i);
		fclose(f);
	}
	assert_int_equal(cfg_load(path, &cur, err, sizeof(err)), 0);
	cfg_free(old);
	assert_non_null(cur->name_idx);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "a%u", i);
		r = cfg_remote_by_name(cur, name);
		if (i < 100) {
			assert_non_null(r);
			assert_int_equal(r->dpd_delay_sec, 500 + i);
		} else {
			assert_null(r);
		}
		snprintf(name, sizeof(name), "b%u", i);
		r = cfg_remote_by_name(cur, name);
		if (i >= 100) {
			assert_non_null(r);
			assert_int_equal(r->dpd_delay_sec, 7);
			assert_ptr_equal(r, scan(cur, name));
		} else {
			assert_null(r);
		}
	}
	cfg_free(cur);
	unlink(path);
	unlink(psk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_matches_scan),
	    cmocka_unit_test(test_index_empty),
	    cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
