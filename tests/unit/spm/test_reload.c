/*
 * test_reload.c - spmd's incremental reload (spmd_reload: conf_delta_*
 * and spd_reload_part) is exactly a fresh start.  A configuration of
 * selectors is edited at random (selectors changed, added, removed,
 * moved, renamed, commented; policies changed; duplicate keys and names;
 * syntax errors) and after each edit one spmd (fake kernel) reloads it
 * while a second one starts fresh from the same file.  Oracles: the same
 * success or the same file:line errors; on success the same configuration
 * (conf_dump, every selector's file:line, each policy's selector list)
 * and the same kernel policies in the same order (reqids are compared
 * as a pairing: they are stable per selector pair across reloads, so
 * their numbers differ from a fresh start's); on failure nothing changed.
 * Most edits must take the incremental path (reloads_partial).
 */
#include <errno.h>
#include <inttypes.h>
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

#include "lib/log.h"
#include "spm/spd_conf.h"
#include "spm/spmd.h"

#define MAXSEL 64

struct sel {
	char name[16];
	int dir, a, b, pol, proto; /* addresses 2001:db8:1::a, :2::b */
	bool comment;
};

struct model {
	struct sel v[MAXSEL];
	size_t n;
	int pol_mode[2]; /* policy q0/q1: 0 transport, 1 discard */
	int broken;	 /* 1 syntax error, 2 duplicate name */
	unsigned next;
};

static char path[256], psk[256];

static void write_conf(const struct model *m)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"# test_reload\nresolver { resolver off; };\n"
		"remote r { acceptable_kmp { ikev2; };\n"
		"  ikev2 { peers_ipaddr \"2001:db8:ffff::2\" port 500;\n"
		"    kmp_enc_alg { aes128_cbc; }; kmp_prf_alg { "
		"hmac_sha2_256; };\n"
		"    kmp_hash_alg { hmac_sha2_256; }; kmp_dh_group { "
		"modp2048; };\n"
		"    kmp_auth_method { psk; }; pre_shared_key \"%s\"; };\n"
		"};\n"
		"sa s { sa_protocol esp; esp_enc_alg { aes128_cbc; }; "
		"esp_auth_alg { hmac_sha1; }; };\n"
		"ipsec i { sa_index s; };\n",
		psk);
	for (int p = 0; p < 2; p++)
		fprintf(f,
			"policy q%d { action %s; remote_index r; "
			"ipsec_mode transport;\n  ipsec_index { i; }; "
			"ipsec_level require; };\n",
			p, m->pol_mode[p] ? "discard" : "auto_ipsec");
	for (size_t i = 0; i < m->n; i++) {
		const struct sel *s = &m->v[i];

		if (s->comment)
			fprintf(f, "# a comment\n");
		fprintf(f,
			"selector %s { direction %s;\n  src "
			"\"2001:db8:1::%x\"; dst \"2001:db8:2::%x\";%s "
			"policy_index q%d; };\n",
			s->name, s->dir ? "inbound" : "outbound", s->a, s->b,
			s->proto ? " upper_layer_protocol \"tcp\";" : "",
			s->pol);
	}
	if (m->broken == 1)
		fprintf(f, "selector broken { direction ; };\n");
	if (m->broken == 2 && m->n)
		fprintf(f,
			"selector %s { direction outbound; policy_index q0; "
			"};\n",
			m->v[0].name);
	fclose(f);
}

static void new_sel(struct model *m, struct sel *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "s%u", m->next++);
	s->dir = rand() % 2;
	s->a = rand() % 40 + 1; /* few addresses: duplicate keys happen */
	s->b = rand() % 40 + 1;
	s->pol = rand() % 2;
	s->proto = rand() % 4 == 0;
}

static void edit(struct model *m)
{
	size_t i = m->n ? (size_t)rand() % m->n : 0;
	int what = rand() % 20;

	m->broken = 0;
	if (what < 6 && m->n) { /* change a selector */
		struct sel *s = &m->v[i];

		switch (rand() % 4) {
		case 0:
			s->a = rand() % 40 + 1;
			break;
		case 1:
			s->dir ^= 1;
			break;
		case 2:
			s->pol ^= 1;
			break;
		default:
			s->proto ^= 1;
		}
	} else if (what < 9 && m->n < MAXSEL) { /* add one */
		if (rand() % 3 == 0)
			i = m->n; /* at the end */
		memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
		new_sel(m, &m->v[i]);
		m->n++;
	} else if (what < 12 && m->n) { /* remove one */
		memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
		m->n--;
	} else if (what < 13 && m->n > 1) { /* swap two neighbours */
		struct sel t;
		size_t j = i + 1 < m->n ? i + 1 : i - 1;

		t = m->v[i];
		m->v[i] = m->v[j];
		m->v[j] = t;
	} else if (what < 14 && m->n) { /* rename */
		snprintf(m->v[i].name, sizeof(m->v[i].name), "s%u", m->next++);
	} else if (what < 15 && m->n) { /* a comment line before it */
		m->v[i].comment ^= 1;
	} else if (what < 16) { /* a policy (not a selector) */
		m->pol_mode[rand() % 2] ^= 1;
	} else if (what < 18) {
		m->broken = 1 + rand() % 2;
	}
}

struct inst {
	struct kernel k;
	struct spmd d;
};

static void inst_start(struct inst *x)
{
	struct spd_set desired;
	struct conf_diag dg;
	char err[4096] = "";

	memset(x, 0, sizeof(*x));
	conf_diag_init(&dg);
	assert_int_equal(k_open(&x->k, "fake", 0), 0);
	assert_int_equal(spd_init(&x->d.spd, &x->k, NULL), 0);
	x->d.conf_path = path;
	if (conf_load_ex(path, CONF_LOAD_SRCINDEX, &x->d.conf, &dg) < 0)
		conf_diag_print(stderr, &dg);
	assert_non_null(x->d.conf);
	conf_diag_free(&dg);
	spd_set_init(&desired);
	assert_int_equal(
	    spd_conf_build(&x->d.spd, x->d.conf, &desired, err, sizeof(err)),
	    0);
	assert_int_equal(spd_start(&x->d.spd, &desired, err, sizeof(err)), 0);
}

static void inst_stop(struct inst *x)
{
	spd_free(&x->d.spd);
	conf_free(x->d.conf);
	k_close(&x->k);
}

static char *dump(const struct conf *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	assert_int_equal(conf_dump(f, c), 0);
	for (size_t i = 0; i < c->nselectors; i++) {
		const struct conf_selector *cs = c->selectors[i];

		fprintf(f, "%s %s:%u:%u %u %u %s\n", cs->name, cs->loc.file,
			cs->loc.line, cs->loc.col, cs->src.loc.line,
			cs->dst.loc.line, cs->policy->name);
	}
	for (size_t i = 0; i < c->npolicies; i++) {
		fprintf(f, "policy %s:", c->policies[i]->name);
		for (size_t j = 0; j < c->policies[i]->nselectors; j++)
			fprintf(f, " %s", c->policies[i]->selectors[j]->name);
		fprintf(f, "\n");
	}
	fclose(f);
	return s;
}

/* Same policies, same order; reqids the same pairing. */
static void same_policies(const struct spd *a, const struct spd *b)
{
	assert_int_equal(a->stat.n, b->stat.n);
	for (size_t i = 0; i < a->stat.n; i++) {
		struct spd_entry x = a->stat.v[i], y = b->stat.v[i];

		assert_int_equal(spd_key_cmp(&x, &y), 0);
		assert_string_equal(x.selector, y.selector);
		for (size_t j = 0; j < a->stat.n; j++) {
			const struct spd_entry *u = &a->stat.v[j],
					       *w = &b->stat.v[j];

			if (!x.kp.ntmpl || !u->kp.ntmpl)
				continue;
			assert_int_equal(
			    x.kp.tmpl[0].reqid == u->kp.tmpl[0].reqid,
			    y.kp.tmpl[0].reqid == w->kp.tmpl[0].reqid);
		}
		for (unsigned t = 0; t < x.kp.ntmpl; t++)
			x.kp.tmpl[t].reqid = y.kp.tmpl[t].reqid = 0;
		assert_true(spd_content_eq(&x.kp, &y.kp));
	}
}

static void diag_text(char *out, size_t len, const struct conf_diag *dg)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < dg->n && used + 1 < len; i++) {
		const struct conf_diag_entry *e = &dg->v[i];

		snprintf(out + used, len - used, "%s:%u:%u: %s: %s\n", e->file,
			 e->line, e->col,
			 e->sev == CONF_DIAG_ERROR ? "error" : "warning",
			 e->msg);
		used = strlen(out);
	}
}

static void test_random_edits(void **state)
{
	static char err[16384], want[16384];
	struct model m;
	struct inst a;
	unsigned seed =
	    getenv("RELOAD_SEED") ? (unsigned)atoi(getenv("RELOAD_SEED")) : 1;
	int steps = 400;

	(void)state;
	srand(seed);
	/* many head/tail pieces in these small files, at varying offsets
	 * (resplit in src/conf/incr.c) */
	conf_srcidx_chunk = (size_t)(seed % 5 == 0 ? 4096 : 16 + seed % 97);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 24; i++)
		new_sel(&m, &m.v[m.n++]);
	/* start from a configuration without duplicate keys */
	for (size_t i = 0; i < m.n; i++) {
		m.v[i].a = (int)i + 41;
		m.v[i].b = (int)i + 41;
	}
	write_conf(&m);
	inst_start(&a);
	for (int step = 0; step < steps; step++) {
		struct spd_plan counts;
		struct conf_diag dg;
		struct conf *fresh = NULL;
		char *before = dump(a.d.conf), *after, *fd;
		size_t nk_before = kfake_pol_count(&a.k);
		int rc, frc;

		edit(&m);
		write_conf(&m);
		rc = spmd_reload(&a.d, err, sizeof(err), &counts);
		conf_diag_init(&dg);
		frc = conf_load(path, &fresh, &dg);
		diag_text(want, sizeof(want), &dg);
		conf_diag_free(&dg);
		if (frc < 0) {
			/* the same errors, and nothing changed */
			assert_true(rc < 0);
			assert_string_equal(err, want);
			after = dump(a.d.conf);
			assert_string_equal(before, after);
			assert_int_equal(kfake_pol_count(&a.k), nk_before);
			free(after);
		} else {
			struct inst b;

			assert_int_equal(rc, 0);
			inst_start(&b);
			after = dump(a.d.conf);
			fd = dump(b.d.conf);
			assert_string_equal(after, fd);
			assert_true(conf_srcidx_same(a.d.conf, b.d.conf));
			same_policies(&a.d.spd, &b.d.spd);
			assert_int_equal(kfake_pol_count(&a.k),
					 kfake_pol_count(&b.k));
			assert_int_equal(kfake_pol_count(&a.k), a.d.spd.stat.n);
			free(after);
			free(fd);
			inst_stop(&b);
		}
		conf_free(fresh);
		free(before);
	}
	/* the shortcut was taken, not only the full path */
	print_message("%d steps: %" PRIu64 " reloads, %" PRIu64
		      " incremental, %" PRIu64 " failed\n",
		      steps, a.d.spd.st.reloads, a.d.spd.st.reloads_partial,
		      a.d.spd.st.reload_failures);
	assert_true(a.d.spd.st.reloads_partial > (uint64_t)steps / 4);
	inst_stop(&a);
}

/* A kernel failure during an incremental reload rolls it back. */
static void test_kernel_failure(void **state)
{
	static char err[4096];
	struct model m;
	struct inst a;
	struct spd_plan counts;
	char *before, *after;
	size_t nk;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 8; i++) {
		new_sel(&m, &m.v[m.n]);
		m.v[m.n].a = m.v[m.n].b = i + 1;
		m.n++;
	}
	write_conf(&m);
	inst_start(&a);
	before = dump(a.d.conf);
	nk = kfake_pol_count(&a.k);
	m.v[3].a = 77;
	write_conf(&m);
	kfake_fail_next(&a.k, EIO, 1);
	assert_true(spmd_reload(&a.d, err, sizeof(err), &counts) < 0);
	after = dump(a.d.conf);
	assert_string_equal(before, after);
	assert_int_equal(kfake_pol_count(&a.k), nk);
	free(after);
	/* and the next reload does it */
	assert_int_equal(spmd_reload(&a.d, err, sizeof(err), &counts), 0);
	assert_int_equal(a.d.spd.st.reloads_partial, 1);
	assert_int_equal(counts.nadd, 1);
	assert_int_equal(counts.ndel, 1);
	free(before);
	inst_stop(&a);
}

static int setup(void **state)
{
	char dir[] = "/tmp/test_reload.XXXXXX";
	FILE *f;

	(void)state;
	if (!getenv("RELOAD_VERBOSE"))
		log_set_level(LOG_LVL_ERR);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/racoon2.conf", dir);
	snprintf(psk, sizeof(psk), "%s/psk", dir);
	f = fopen(psk, "w");
	assert_non_null(f);
	fputs("test-psk", f);
	fclose(f);
	chmod(psk, 0600);
	return 0;
}

static int teardown(void **state)
{
	char *slash;

	(void)state;
	unlink(path);
	unlink(psk);
	slash = strrchr(path, '/');
	*slash = '\0';
	rmdir(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_edits),
	    cmocka_unit_test(test_kernel_failure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
