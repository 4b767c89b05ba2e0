/*
 * test_conf.c - cmocka unit tests of src/conf: algorithm table, address
 * values, the loader (from memory), defaults, references, lookups,
 * dump fixed point, hostile input (deep nesting, huge tokens, NUL), and
 * scale: tens of thousands of objects load completely and in linear
 * time, and the sanity limits give located errors instead of silently
 * dropping objects or values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/conf_int.h" /* conf_max_objects, CONF_MAX_LIST */

#define NOFILES (CONF_LOAD_NO_FILECHECK | CONF_LOAD_NO_INCLUDE)

static struct conf *load_ok(const char *text)
{
	struct conf_diag d;
	struct conf *c = NULL;
	int rc;

	conf_diag_init(&d);
	rc = conf_load_buffer("t.conf", text, strlen(text), NOFILES, &c, &d);
	if (rc != 0)
		conf_diag_print(stderr, &d);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	conf_diag_free(&d);
	return c;
}

/* Load must fail with an error at line:col containing frag. */
static void load_err(const char *text, size_t len, unsigned line, unsigned col,
		     const char *frag)
{
	struct conf_diag d;
	struct conf *c = NULL;
	bool found = false;

	conf_diag_init(&d);
	assert_int_equal(conf_load_buffer("t.conf", text, len, NOFILES, &c, &d),
			 -EINVAL);
	assert_null(c);
	assert_true(d.nerrors > 0);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].sev == CONF_DIAG_ERROR && d.v[i].line == line &&
		    (col == 0 || d.v[i].col == col) && strstr(d.v[i].msg, frag))
			found = true;
	if (!found)
		conf_diag_print(stderr, &d);
	assert_true(found);
	conf_diag_free(&d);
}

static const char base[] =
    "remote r {\n"
    "\tacceptable_kmp { ikev2; };\n"
    "\tikev2 {\n"
    "\t\tpeers_ipaddr 198.51.100.2 port 500;\n"
    "\t\tpeers_id fqdn \"b.example\";\n"
    "\t\tkmp_enc_alg { aes128_gcm16; aes128_cbc,128; };\n"
    "\t\tkmp_hash_alg hmac_sha2_256;\n"
    "\t\tkmp_prf_alg hmac_sha2_256;\n"
    "\t\tkmp_dh_group { curve25519; 14; };\n"
    "\t\tkmp_auth_method psk;\n"
    "\t\tpre_shared_key \"/nonexistent/ok.psk\";\n"
    "\t};\n"
    "};\n"
    "selector s { direction outbound; src 10.0.0.0/8 port any;\n"
    "\tdst 10.1.0.0/16 port 80; upper_layer_protocol tcp;\n"
    "\tpolicy_index p; };\n"
    "policy p { action auto_ipsec; remote_index r; ipsec_index i; };\n"
    "ipsec i { sa_index s1; ipsec_sa_lifetime_time 2 hours; };\n"
    "sa s1 { sa_protocol esp; esp_enc_alg aes256_gcm16; };\n";

static void test_alg_table(void **st)
{
	const struct conf_alg_info *a;
	(void)st;
	a = conf_alg_by_name("aes128_cbc");
	assert_non_null(a);
	assert_int_equal(a->encr_id, 12);
	assert_int_equal(a->key_bits, 128);
	a = conf_alg_by_name("aes256_gcm16");
	assert_int_equal(a->encr_id, 20);
	assert_true(a->flags & CONF_ALGF_AEAD);
	assert_int_equal(a->icv_bytes, 16);
	assert_int_equal(conf_alg_by_name("aes128_gcm8")->encr_id, 18);
	assert_int_equal(conf_alg_by_name("aes192_gcm12")->encr_id, 19);
	assert_int_equal(conf_alg_by_name("chacha20_poly1305")->encr_id, 28);
	a = conf_alg_by_name("hmac_sha2_384");
	assert_int_equal(a->prf_id, 6);
	assert_int_equal(a->integ_id, 13);
	assert_int_equal(conf_alg_by_name("aes_xcbc")->integ_id, 5);
	assert_int_equal(conf_alg_by_name("curve25519")->dh_id, 31);
	assert_int_equal(conf_alg_by_name("curve448")->dh_id, 32);
	assert_int_equal(conf_alg_by_name("ecp521")->dh_id, 21);
	assert_int_equal(conf_alg_by_name("modp8192")->dh_id, 18);
	assert_ptr_equal(conf_alg_by_name("x25519"),
			 conf_alg_by_name("curve25519"));
	assert_ptr_equal(conf_alg_by_dh_group(14),
			 conf_alg_by_name("modp2048"));
	assert_null(conf_alg_by_dh_group(99));
	assert_null(conf_alg_by_name("rot13"));
	assert_null(conf_alg_by_name(NULL));
	assert_string_equal(conf_alg_name(CONF_ALG_3DES_CBC), "3des_cbc");
	assert_string_equal(conf_alg_name((enum conf_alg)9999), "unknown");
	for (int i = 1; i < CONF_ALG_COUNT; i++) {
		const struct conf_alg_info *x = conf_alg_info(i);
		assert_int_equal(x->alg, i);
		assert_ptr_equal(conf_alg_by_name(x->name), x);
	}
}

static void test_addr_parse(void **st)
{
	struct conf *c;
	const struct conf_selector *s;
	char buf[128];
	(void)st;
	c = load_ok("selector a { direction inbound; src fe80::1%lo/64;\n"
		    "dst MY_IPV6_LINKLOCAL%eth0 port 22;\n"
		    "upper_layer_protocol tcp; policy_index p; };\n"
		    "selector b { direction inbound; src host.example;\n"
		    "policy_index p; };\n"
		    "policy p { action discard; };\n");
	s = conf_selector_find(c, "a");
	assert_non_null(s);
	assert_int_equal(s->src.kind, CONF_ADDR_IP);
	assert_int_equal(s->src.af, AF_INET6);
	assert_int_equal(s->src.plen, 64);
	assert_string_equal(s->src.ifname, "lo");
	assert_string_equal(conf_addr_str(&s->src, buf, sizeof(buf)),
			    "fe80::1%lo/64");
	assert_int_equal(s->dst.kind, CONF_ADDR_MY_IPV6_LINKLOCAL);
	assert_string_equal(s->dst.ifname, "eth0");
	assert_int_equal(s->dst.port, 22);
	assert_int_equal(s->upper_layer_protocol, 6);
	s = conf_selector_find(c, "b");
	assert_int_equal(s->src.kind, CONF_ADDR_NAME);
	assert_int_equal(s->dst.kind, CONF_ADDR_ANY); /* omitted */
	assert_ptr_equal(s->policy, conf_policy_find(c, "p"));
	conf_free(c);
}

static int count_cb(const struct sockaddr *sa, socklen_t l, unsigned plen,
		    void *arg)
{
	(void)sa;
	(void)l;
	(void)plen;
	(*(int *)arg)++;
	return 0;
}

static void test_addr_match_expand(void **st)
{
	struct conf *c = load_ok(base);
	const struct conf_selector *s = conf_selector_find(c, "s");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int n = 0;
	(void)st;

	inet_pton(AF_INET, "10.200.1.1", &sin.sin_addr);
	assert_true(conf_addr_match(&s->src, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "11.0.0.1", &sin.sin_addr);
	assert_false(conf_addr_match(&s->src, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	sin.sin_port = htons(80);
	assert_true(conf_addr_match(&s->dst, (struct sockaddr *)&sin));
	sin.sin_port = htons(81);
	assert_false(conf_addr_match(&s->dst, (struct sockaddr *)&sin));
	assert_int_equal(conf_addr_expand(&s->src, count_cb, &n), 0);
	assert_int_equal(n, 1);
	conf_free(c);
}

static void test_load_resolved(void **st)
{
	struct conf *c = load_ok(base);
	const struct conf_remote *r = conf_remote_find(c, "r");
	const struct conf_policy *p = conf_policy_find(c, "p");
	(void)st;

	assert_non_null(r);
	assert_int_equal(r->n_acceptable_kmp, 1);
	assert_int_equal(r->acceptable_kmp[0], CONF_KMP_IKEV2);
	assert_true(r->ikev2.present);
	assert_false(r->ikev1.present);
	assert_int_equal(r->ikev2.kmp_enc_alg.n, 2);
	assert_int_equal(r->ikev2.kmp_enc_alg.v[1].key_bits, 128);
	assert_int_equal(r->ikev2.kmp_dh_group.v[1].alg, CONF_ALG_MODP2048);
	assert_int_equal(r->ikev2.peers_ipaddr.v[0].port, 500);
	assert_int_equal(r->ikev2.dpd_delay, 3600); /* built-in default */
	assert_int_equal(r->ikev2.nat_keepalive, 20);
	assert_true(conf_kmp_isset(&r->ikev2, CK_KMP_PRF_ALG));
	assert_false(conf_kmp_isset(&r->ikev2, CK_DPD_DELAY));
	assert_ptr_equal(p->remote, r);
	assert_int_equal(r->npolicies, 1);
	assert_ptr_equal(r->policies[0], p);
	assert_int_equal(p->nipsec, 1);
	assert_int_equal(p->ipsec[0]->ipsec_sa_lifetime_time, 7200);
	assert_ptr_equal(p->ipsec[0]->esp, conf_sa_find(c, "s1"));
	assert_int_equal(p->ipsec[0]->replay_window, 64);
	assert_int_equal(p->nselectors, 1);
	assert_true(p->install);
	assert_int_equal(c->iface.kernel, CONF_KERNEL_DEFAULT);
	conf_free(c);
}

static void test_defaults_inherited(void **st)
{
	struct conf *c = load_ok(
	    "default { remote { acceptable_kmp { ikev2; kink; };\n"
	    "  ikev2 { kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
	    "   kmp_dh_group ecp256; kmp_auth_method rsasig;\n"
	    "   dpd_delay 5 min; };\n"
	    "  kink { my_principal \"me@R\"; }; };\n"
	    " policy { ipsec_mode tunnel; ipsec_level unique; };\n"
	    " ipsec { ipsec_sa_lifetime_time 1 day; };\n"
	    " sa { sa_protocol esp; esp_enc_alg aes128_gcm16; }; };\n"
	    "remote a { ikev2 { dpd_delay 10 sec; }; };\n"
	    "policy p { action discard; ipsec_mode transport; };\n"
	    "ipsec i { sa_index { ah1; e; }; };\n"
	    "sa e { };\n"
	    "sa ah1 { sa_protocol ah; ah_auth_alg hmac_sha1; };\n");
	const struct conf_remote *a = conf_remote_find(c, "a");
	const struct conf_policy *p = conf_policy_find(c, "p");
	const struct conf_ipsec *i = conf_ipsec_find(c, "i");
	const struct conf_sa *e = conf_sa_find(c, "e");
	(void)st;

	assert_int_equal(a->n_acceptable_kmp, 2);
	assert_int_equal(a->ikev2.dpd_delay, 10);
	assert_int_equal(a->ikev2.kmp_enc_alg.v[0].alg, CONF_ALG_AES128_GCM16);
	assert_true(a->kink.present);
	assert_string_equal(a->kink.my_principal, "me@R");
	assert_non_null(c->default_remote);
	assert_int_equal(c->default_remote->ikev2.dpd_delay, 300);
	assert_int_equal(p->ipsec_mode, CONF_MODE_TRANSPORT);
	assert_int_equal(p->ipsec_level, CONF_LEVEL_UNIQUE);
	assert_int_equal(i->ipsec_sa_lifetime_time, 86400);
	assert_int_equal(e->sa_protocol, CONF_SA_ESP);
	assert_int_equal(e->esp_enc_alg.n, 1);
	/* the esp defaults are not pushed into an ah sa */
	assert_int_equal(conf_sa_find(c, "ah1")->esp_enc_alg.n, 0);
	assert_ptr_equal(i->ah, conf_sa_find(c, "ah1"));
	assert_ptr_equal(i->esp, e);
	conf_free(c);
}

static void test_lookup_fallback(void **st)
{
	struct conf *c = load_ok(
	    "default { remote { acceptable_kmp ikev2; }; };\n"
	    "remote a { ikev2 { peers_ipaddr { 198.51.100.9; 198.51.100.7; };\n"
	    "  peers_id ipaddr \"198.51.100.7\";\n"
	    "  kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
	    "  kmp_dh_group ecp256; kmp_auth_method rsasig; }; };\n"
	    "remote b { ikev2 { peers_ipaddr IP_RW;\n"
	    "  peers_id fqdn \"b.example\";\n"
	    "  kmp_enc_alg aes128_gcm16; kmp_prf_alg hmac_sha1;\n"
	    "  kmp_dh_group ecp256; kmp_auth_method rsasig; }; };\n");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	uint8_t ip[4] = {198, 51, 100, 7};
	(void)st;

	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	assert_string_equal(
	    conf_remote_by_addr(c, CONF_KMP_IKEV2, (struct sockaddr *)&sin)
		->name,
	    "a");
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	assert_ptr_equal(
	    conf_remote_by_addr(c, CONF_KMP_IKEV2, (struct sockaddr *)&sin),
	    c->default_remote);
	assert_string_equal(
	    conf_remote_by_id(c, CONF_KMP_IKEV2, CONF_ID_FQDN, "B.example", 9)
		->name,
	    "b");
	assert_string_equal(
	    conf_remote_by_id(c, CONF_KMP_IKEV2, CONF_ID_IPADDR, ip, 4)->name,
	    "a");
	assert_ptr_equal(
	    conf_remote_by_id(c, CONF_KMP_IKEV2, CONF_ID_FQDN, "x", 1),
	    c->default_remote);
	conf_free(c);
}

static char *dump_str(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(conf_dump(f, c), 0);
	fclose(f);
	return buf;
}

static void test_dump_fixed_point(void **st)
{
	struct conf *c = load_ok(base), *c2;
	char *d1, *d2;
	(void)st;
	d1 = dump_str(c);
	c2 = load_ok(d1);
	d2 = dump_str(c2);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	conf_free(c);
	conf_free(c2);
}

static void test_units_and_subst(void **st)
{
	struct conf *c =
	    load_ok("setval { T \"3\"; N \"pre${T}\"; };\n"
		    "ipsec i { sa_index s; ipsec_sa_lifetime_time 2 days;\n"
		    "  ipsec_sa_lifetime_byte 3 MB; };\n"
		    "ipsec j { sa_index s; ipsec_sa_lifetime_time infinite;\n"
		    "  ipsec_sa_lifetime_byte 7 KB; };\n"
		    "sa s { sa_protocol esp; esp_enc_alg aes128_gcm16; };\n"
		    "remote \"${N}\" { acceptable_kmp kink; };\n");
	(void)st;
	assert_int_equal(conf_ipsec_find(c, "i")->ipsec_sa_lifetime_time,
			 2 * 86400);
	assert_int_equal(conf_ipsec_find(c, "i")->ipsec_sa_lifetime_byte,
			 3 * 1024 * 1024);
	assert_int_equal(conf_ipsec_find(c, "j")->ipsec_sa_lifetime_time, 0);
	assert_non_null(conf_remote_find(c, "pre3"));
	conf_free(c);
}

static void test_errors_located(void **st)
{
	static const char nul[] = "policy p {\n action di\0scard; };\n";
	(void)st;
	load_err("policy p {\n\taction maybe;\n};\n", 30, 2, 9,
		 "expected auto_ipsec");
	load_err("include \"x.conf\";\n", 18, 1, 1, "include is disabled");
	load_err(nul, sizeof(nul) - 1, 2, 11, "unexpected byte 0x00");
	load_err("ipsec i { ipsec_sa_lifetime_time 18446744073709551616; "
		 "};\n",
		 57, 1, 34, "out of range");
	load_err("sa s { sa_protocol esp; esp_enc_alg hmac_sha1; };\n", 50, 1,
		 37, "cannot be used in 'esp_enc_alg'");
}

static void test_hostile_input(void **st)
{
	size_t n = 10000, len = 2 * n + 16;
	char *deep = malloc(len), *big;
	size_t o = 0;
	(void)st;
	/* 10,000 nested blocks: one clear error, no stack overflow */
	o += (size_t)sprintf(deep, "x ");
	for (size_t i = 0; i < n; i++)
		deep[o++] = '{';
	for (size_t i = 0; i < n; i++)
		deep[o++] = '}';
	deep[o++] = ';';
	load_err(deep, o, 1, 35, "nested too deeply");
	free(deep);
	/* a 1 MB word */
	big = malloc((1u << 20) + 8);
	memset(big, 'a', 1u << 20);
	memcpy(big + (1u << 20), " ;\n", 3);
	load_err(big, (1u << 20) + 3, 1, 1, "word too long");
	/* a 1 MB string */
	big[0] = '"';
	big[(1u << 20) - 1] = '"';
	load_err(big, (1u << 20) + 3, 1, 1, "string too long");
	free(big);
}

/* The load's arena (src/conf/arena.c): aligned, large requests on
 * chunks of their own, everything freed at once (ASan/LSan builds check
 * the rest). */
static void test_arena(void **st)
{
	struct conf_arena a = {0};
	char *s;
	(void)st;
	for (size_t i = 0; i < 20000; i++) {
		size_t al = (size_t)1 << (i % 5); /* 1..16 */
		unsigned char *q = conf_arena_alloc(&a, i % 97 + 1, al);
		assert_non_null(q);
		assert_int_equal((uintptr_t)q % al, 0);
		memset(q, 0xa5, i % 97 + 1);
	}
	/* larger than a quarter chunk, then small ones again */
	s = conf_arena_alloc(&a, 200000, 8);
	assert_non_null(s);
	memset(s, 1, 200000);
	s = conf_arena_strndup(&a, "selector abc", 8);
	assert_string_equal(s, "selector");
	assert_string_equal(conf_arena_strndup(&a, "", 0), "");
	assert_true(a.bytes >= 200000 + 20000);
	conf_arena_free(&a);
	assert_null(a.chunks);
	assert_int_equal(a.bytes, 0);
	conf_arena_free(&a); /* twice: a no-op */
}

/* The lexer's two string paths (copied straight from the file, or
 * through the escape buffer) and words keep columns and text exact. */
static void test_token_paths(void **st)
{
	struct conf *c = load_ok("setval { A \"x\"; };\n"
				 "remote \"r\\\"q\" { acceptable_kmp kink; };\n"
				 "remote \"${A}y\" { acceptable_kmp kink; };\n"
				 "remote plain { acceptable_kmp kink; };\n");
	(void)st;
	assert_non_null(conf_remote_find(c, "r\"q"));
	assert_non_null(conf_remote_find(c, "xy"));
	assert_non_null(conf_remote_find(c, "plain"));
	conf_free(c);
	load_err("remote \"r\" { acceptable_kmp bogus; };\n", 37, 1, 29, "");
	load_err("remote \"r\\\"q\" { acceptable_kmp bogus; };\n", 40, 1, 32,
		 "");
	load_err("remote rr { acceptable_kmp bogus; };\n", 37, 1, 28, "");
	load_err("remote \"ab\ncd\" { };\n", 19, 1, 8, "unterminated");
	/* a statement in a nested block after a long block of statements */
	load_err("policy p { remote_index r; ipsec_mode tunnel;\n"
		 "  ipsec_index { i; }; action what; };\n",
		 84, 2, 30, "expected auto_ipsec");
}

/* ---------------- scale ---------------- */

/* Text built with printf-like appends (open_memstream). */
struct text {
	FILE *f;
	char *s;
	size_t len;
};

static void text_open(struct text *t)
{
	t->s = NULL;
	t->len = 0;
	t->f = open_memstream(&t->s, &t->len);
	assert_non_null(t->f);
}

static void text_close(struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
	t->f = NULL;
}

/* Load t; return the status, the diagnostics stay in *d. */
static int load_text(const struct text *t, struct conf **c, struct conf_diag *d)
{
	conf_diag_init(d);
	return conf_load_buffer("t.conf", t->s, t->len, NOFILES, c, d);
}

/* The one error whose message contains frag. */
static const struct conf_diag_entry *find_error(const struct conf_diag *d,
						const char *frag)
{
	const struct conf_diag_entry *e = NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].sev != CONF_DIAG_ERROR ||
		    !strstr(d->v[i].msg, frag))
			continue;
		assert_null(e);
		e = &d->v[i];
	}
	if (!e)
		conf_diag_print(stderr, d);
	assert_non_null(e);
	return e;
}

static const char scale_head[] =
    "remote r%u { acceptable_kmp { ikev2; }; ikev2 {\n"
    " peers_ipaddr 2001:db8:ffff::%x port 500; kmp_enc_alg aes128_cbc;\n"
    " kmp_prf_alg hmac_sha2_256; kmp_hash_alg hmac_sha2_256;\n"
    " kmp_dh_group modp2048; kmp_auth_method psk;\n"
    " pre_shared_key \"/nonexistent/psk\"; }; };\n";

/*
 * NP policies over 100 remotes and 50 ipsecs, two selectors per policy
 * (the shape of bench/spmd_policies.sh, with one policy per pair).
 */
static void gen_policies(struct text *t, unsigned np)
{
	text_open(t);
	for (unsigned i = 0; i < 100; i++)
		fprintf(t->f, scale_head, i, i + 1);
	fprintf(t->f, "sa s { sa_protocol esp; esp_enc_alg aes128_cbc; "
		      "esp_auth_alg hmac_sha1; };\n");
	for (unsigned i = 0; i < 50; i++)
		fprintf(t->f, "ipsec i%u { sa_index s; };\n", i);
	for (unsigned i = 0; i < np; i++) {
		fprintf(t->f,
			"policy p%u { action auto_ipsec; remote_index "
			"r%u; ipsec_mode transport; ipsec_index { i%u; }; };\n",
			i, i % 100, i % 50);
		fprintf(t->f,
			"selector o%u { direction outbound; "
			"src \"2001:db8:1::%x:%x\"; dst \"2001:db8:2::%x:%x\"; "
			"policy_index p%u; };\n",
			i, i >> 16, i & 0xffff, i >> 16, i & 0xffff, i);
		fprintf(t->f,
			"selector i%u { direction inbound; "
			"src \"2001:db8:2::%x:%x\"; dst \"2001:db8:1::%x:%x\"; "
			"policy_index p%u; };\n",
			i, i >> 16, i & 0xffff, i >> 16, i & 0xffff, i);
	}
	text_close(t);
}

/* 10,000 policies and 20,000 selectors: all of them, all resolved. */
static void test_scale_complete(void **st)
{
	const unsigned np = 10000;
	struct text t;
	struct conf *c = NULL;
	struct conf_diag d;
	char nm[32];
	(void)st;

	gen_policies(&t, np);
	assert_int_equal(load_text(&t, &c, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(c->npolicies, np);
	assert_int_equal(c->nselectors, 2 * np);
	assert_int_equal(c->nremotes, 100);
	assert_int_equal(c->nipsecs, 50);
	for (unsigned i = 0; i < np; i++) {
		const struct conf_policy *p = c->policies[i];
		snprintf(nm, sizeof(nm), "p%u", i);
		assert_string_equal(p->name, nm);
		assert_ptr_equal(conf_policy_find(c, nm), p);
		assert_int_equal(p->nselectors, 2);
		assert_string_equal(p->selectors[0]->name + 1, nm + 1);
		assert_ptr_equal(p->remote, c->remotes[i % 100]);
		assert_ptr_equal(p->ipsec[0], c->ipsecs[i % 50]);
		assert_ptr_equal(p->ipsec[0]->esp, c->sas[0]);
	}
	for (unsigned i = 0; i < 2 * np; i++) {
		const struct conf_selector *s = c->selectors[i];
		assert_ptr_equal(conf_selector_find(c, s->name), s);
		assert_ptr_equal(s->policy, c->policies[i / 2]);
	}
	for (unsigned i = 0; i < 100; i++) {
		snprintf(nm, sizeof(nm), "r%u", i);
		assert_ptr_equal(conf_remote_find(c, nm), c->remotes[i]);
		assert_int_equal(c->remotes[i]->npolicies, np / 100);
	}
	/* names are per kind, and absent ones stay absent */
	assert_null(conf_selector_find(c, "p1"));
	assert_null(conf_policy_find(c, "o1"));
	assert_null(conf_policy_find(c, "p10000"));
	assert_null(conf_policy_find(c, ""));
	assert_null(conf_addrpool_find(c, "p1"));
	conf_free(c);
	conf_diag_free(&d);
	free(t.s);
}

/* Duplicate names among many are still found, with the first place. */
static void test_scale_duplicates(void **st)
{
	const struct conf_diag_entry *e;
	struct text t;
	struct conf *c = NULL;
	struct conf_diag d;
	(void)st;

	text_open(&t);
	for (unsigned i = 0; i < 5000; i++)
		fprintf(t.f,
			"sa s%u { sa_protocol esp; esp_enc_alg "
			"aes128_gcm16; };\n",
			i);
	fprintf(t.f, "sa s4321 { sa_protocol ah; ah_auth_alg hmac_sha1; };\n");
	fprintf(t.f, "setval {\n");
	for (unsigned i = 0; i < 5000; i++)
		fprintf(t.f, " V%u \"x%u\";\n", i, i);
	fprintf(t.f, " V77 \"again\";\n};\n");
	fprintf(t.f, "ipsec i { sa_index \"s${V4999}\"; };\n");
	text_close(&t);
	assert_int_equal(load_text(&t, &c, &d), -EINVAL);
	assert_null(c);
	assert_int_equal(d.nerrors, 3);
	e = find_error(&d, "duplicate sa 's4321' (first defined at "
			   "t.conf:4322)");
	assert_int_equal(e->line, 5001);
	assert_int_equal(e->col, 4);
	e = find_error(&d, "duplicate setval variable 'V77' (first defined "
			   "at t.conf:5080)");
	assert_int_equal(e->line, 10003);
	assert_int_equal(e->col, 2);
	e = find_error(&d, "sa_index 'sx4999' does not name an sa");
	assert_int_equal(e->line, 10005);
	conf_diag_free(&d);
	free(t.s);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of three loads of np policies, in CPU seconds. */
static double load_seconds(unsigned np)
{
	struct text t;
	double best = 1e9;

	gen_policies(&t, np);
	for (int r = 0; r < 3; r++) {
		struct conf *c = NULL;
		struct conf_diag d;
		double t0 = cpu_now(), dt;
		assert_int_equal(load_text(&t, &c, &d), 0);
		dt = cpu_now() - t0;
		assert_int_equal(c->nselectors, 2 * np);
		conf_free(c);
		conf_diag_free(&d);
		if (dt < best)
			best = dt;
	}
	free(t.s);
	return best;
}

/*
 * Loading is linear: 8 times the objects cost about 8 times the time
 * (measured 10-16 with cache and allocator effects at this size), not
 * the ~50 times of the former name scan per object.
 */
static void test_scale_linear(void **st)
{
	double small, large;
	(void)st;

	small = load_seconds(1500);
	large = load_seconds(12000);
	fprintf(stderr, "# load of 3,000 / 24,000 selectors: %.1f / %.1f ms\n",
		small * 1e3, large * 1e3);
	assert_true(large < 32 * small + 0.05);
}

/* Over conf_max_objects: one located error per kind, nothing dropped
 * silently, and no cascade of "does not name" errors. */
static void test_object_limit(void **st)
{
	size_t saved = conf_max_objects;
	struct text t;
	struct conf *c = NULL;
	struct conf_diag d;
	(void)st;

	conf_max_objects = 1000;
	/* exactly at the limit: fine */
	text_open(&t);
	fprintf(t.f, "policy p { action discard; };\n");
	for (unsigned i = 0; i < 1000; i++)
		fprintf(t.f,
			"selector s%u { direction inbound; "
			"policy_index p; };\n",
			i);
	text_close(&t);
	assert_int_equal(load_text(&t, &c, &d), 0);
	assert_int_equal(c->nselectors, 1000);
	conf_free(c);
	conf_diag_free(&d);
	free(t.s);

	/* 1,001 selectors and 1,002 policies: the 1,001st of each is
	 * reported where it is defined, once */
	text_open(&t);
	for (unsigned i = 0; i < 1002; i++)
		fprintf(t.f, "policy p%u { action discard; };\n", i);
	for (unsigned i = 0; i < 1001; i++)
		fprintf(t.f,
			"selector s%u { direction inbound; "
			"policy_index p%u; };\n",
			i, i);
	text_close(&t);
	assert_int_equal(load_text(&t, &c, &d), -EINVAL);
	assert_null(c);
	assert_int_equal(d.nerrors, 2);
	assert_string_equal(d.v[0].msg,
			    "too many policy sections (limit "
			    "1000); 'p1000' and later ones are not loaded");
	assert_int_equal(d.v[0].line, 1001);
	assert_int_equal(d.v[0].col, 8);
	assert_string_equal(d.v[1].msg,
			    "too many selector sections (limit "
			    "1000); 's1000' and later ones are not loaded");
	assert_int_equal(d.v[1].line, 1002 + 1001);
	assert_int_equal(d.v[1].col, 10);
	conf_diag_free(&d);
	free(t.s);
	conf_max_objects = saved;
	assert_int_equal(conf_max_objects, CONF_MAX_OBJECTS);
}

/* Lists: far past the old 4,096 entries, and a located error past
 * CONF_MAX_LIST. */
static void test_list_limit(void **st)
{
	struct text t;
	struct conf *c = NULL;
	struct conf_diag d;
	const unsigned big = 5000;
	(void)st;

	text_open(&t);
	fprintf(t.f, "remote r { acceptable_kmp ikev2; ikev2 {\n"
		     "peers_ipaddr {\n");
	for (unsigned i = 0; i < big; i++)
		fprintf(t.f, "2001:db8::%x;\n", i + 1);
	fprintf(t.f, "}; kmp_enc_alg aes128_gcm16; kmp_prf_alg "
		     "hmac_sha2_256; kmp_dh_group curve25519; kmp_auth_method "
		     "psk; pre_shared_key \"/x\"; }; };\n");
	text_close(&t);
	assert_int_equal(load_text(&t, &c, &d), 0);
	assert_int_equal(c->remotes[0]->ikev2.peers_ipaddr.n, big);
	assert_int_equal(c->remotes[0]->ikev2.peers_ipaddr.v[big - 1].u.b[15],
			 big & 0xff);
	conf_free(c);
	conf_diag_free(&d);
	free(t.s);

	text_open(&t);
	fprintf(t.f, "selector s {\ndirection inbound; policy_index p;\n"
		     "next_header_including {\n");
	for (unsigned i = 0; i <= CONF_MAX_LIST; i++)
		fprintf(t.f, "  h%u;\n", i);
	fprintf(t.f, "};\n};\npolicy p { action discard; };\n");
	text_close(&t);
	assert_int_equal(load_text(&t, &c, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.v[0].msg,
			    "too many values for "
			    "'next_header_including' (limit 65536)");
	assert_int_equal(d.v[0].line, 4 + CONF_MAX_LIST);
	assert_int_equal(d.v[0].col, 3);
	conf_diag_free(&d);
	free(t.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alg_table),
	    cmocka_unit_test(test_addr_parse),
	    cmocka_unit_test(test_addr_match_expand),
	    cmocka_unit_test(test_load_resolved),
	    cmocka_unit_test(test_defaults_inherited),
	    cmocka_unit_test(test_lookup_fallback),
	    cmocka_unit_test(test_dump_fixed_point),
	    cmocka_unit_test(test_units_and_subst),
	    cmocka_unit_test(test_errors_located),
	    cmocka_unit_test(test_hostile_input),
	    cmocka_unit_test(test_arena),
	    cmocka_unit_test(test_token_paths),
	    cmocka_unit_test(test_scale_complete),
	    cmocka_unit_test(test_scale_duplicates),
	    cmocka_unit_test(test_scale_linear),
	    cmocka_unit_test(test_object_limit),
	    cmocka_unit_test(test_list_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
