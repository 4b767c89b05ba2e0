/*
 * spmif_fuzz.c - libFuzzer harness for spmif request and event
 * parsing.  Each input is split at LF into lines; every line goes
 * through the request tokenizer, every decoded value through each
 * scalar parser, and the decoded request is re-encoded and parsed
 * again, which must give the same result (codec round trip).  Lines
 * are also fed to the event (ACQUIRE) and selector parsers the client
 * library uses.
 *
 * When built with SPMIF_FUZZ_SERVER, the whole input is also run
 * through spmd's request dispatcher (spmif_server_feed) against the
 * fake kernel backend and a small configuration with static and
 * road-warrior selectors: every command, with whatever arguments, must
 * produce a reply and leave the policy database consistent.  The server
 * state is rebuilt for every input; the configuration is loaded once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"

#ifdef SPMIF_FUZZ_SERVER
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "spm/resolver.h"
#include "spm/spd_conf.h"
#include "spm/spmd.h"

static const char fuzz_conf[] =
    "interface { spmd { unix \"/nonexistent/spmif\"; }; };\n"
    "resolver { resolver off; };\n"
    "remote r { acceptable_kmp { kink; }; kink { peers_principal "
    "\"a/b\"; }; };\n"
    "sa s { sa_protocol esp; esp_enc_alg { aes128_cbc; }; "
    "esp_auth_alg { hmac_sha1; }; };\n"
    "ipsec i { sa_index s; };\n"
    "policy t { action auto_ipsec; remote_index r; ipsec_mode transport; "
    "ipsec_index { i; }; };\n"
    "policy tun { action auto_ipsec; remote_index r; ipsec_mode tunnel; "
    "ipsec_index { i; }; my_sa_ipaddr \"198.51.100.1\"; "
    "peers_sa_ipaddr \"198.51.100.2\"; };\n"
    "policy rw { action auto_ipsec; remote_index r; ipsec_mode tunnel; "
    "ipsec_index { i; }; my_sa_ipaddr \"198.51.100.1\"; "
    "peers_sa_ipaddr IP_RW; };\n"
    "policy d { action discard; };\n"
    "selector o { direction outbound; src \"198.51.100.1\"; "
    "dst \"198.51.100.2\"; policy_index t; };\n"
    "selector n { direction inbound; src \"198.51.100.2\"; "
    "dst \"198.51.100.1\"; policy_index t; };\n"
    "selector tu { direction inbound; src \"203.0.113.0/24\"; "
    "dst \"203.0.113.128/25\"; policy_index tun; };\n"
    "selector rw_in { direction inbound; src IP_ANY; "
    "dst \"203.0.113.0/24\"; policy_index rw; };\n"
    "selector x { direction outbound; src IP_ANY; dst IP_ANY; "
    "policy_index d; };\n";

static char conf_path[64];
static struct spmd fz;

static void remove_conf(void)
{
	unlink(conf_path);
}

static void server_init(void)
{
	FILE *f;
	int fd;

	log_init("fuzz", LOG_TO_STDERR, LOG_LVL_ERR);
	snprintf(conf_path, sizeof(conf_path), "/tmp/spmif-fuzz-XXXXXX");
	fd = mkstemp(conf_path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		abort();
	fputs(fuzz_conf, f);
	fclose(f);
	atexit(remove_conf);
	fz.conf_path = conf_path;
	fz.backend = "fake";
	if (conf_cli_load("fuzz", conf_path, &fz.conf) != 0)
		abort();
	fz.loop = ev_new();
	if (!fz.loop)
		abort();
}

static void server_run(const uint8_t *data, size_t size)
{
	struct spd_set desired;
	char err[4096] = "";
	int sv[2], e;

	if (!fz.loop)
		server_init();
	if (k_open(&fz.k, "fake", 0) < 0 ||
	    spd_init(&fz.spd, &fz.k, fz.loop) < 0)
		abort();
	spd_set_init(&desired);
	if (spd_conf_build(&fz.spd, fz.conf, &desired, err, sizeof(err)) < 0 ||
	    spd_start(&fz.spd, &desired, err, sizeof(err)) < 0)
		abort();
	fz.srv = spmif_server_new(&fz, NULL, NULL, &e);
	if (!fz.srv)
		abort();
	/* the FQDN list (resolver off: no child, no DNS) */
	fz.resolver = resolver_new(&fz, fz.conf, -1, &e);
	if (!fz.resolver)
		abort();
	fz.spd.gone_cb = spmif_server_dyn_gone;
	fz.spd.gone_arg = fz.srv;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	spmif_server_feed(fz.srv, sv[0], data, size, true);
	close(sv[1]);
	spmif_server_free(fz.srv);
	fz.srv = NULL;
	resolver_free(fz.resolver);
	fz.resolver = NULL;
	spd_remove_all(&fz.spd);
	/* everything spmd installed is gone again */
	if (kfake_pol_count(&fz.k) != 0)
		abort();
	spd_free(&fz.spd);
	k_close(&fz.k);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void scalars(const char *v)
{
	struct kaddr a;
	uint8_t u8;
	uint64_t u;
	enum kmode m;
	enum kdir d;
	enum spmif_kmp k;
	bool b;

	(void)spmif_parse_u64(v, UINT64_MAX, &u);
	(void)spmif_parse_u64(v, 65535, &u);
	(void)spmif_parse_addr(v, &a);
	(void)spmif_parse_prefix(v, &a, &u8);
	(void)spmif_parse_mode(v, &m);
	(void)spmif_parse_dir(v, &d);
	(void)spmif_parse_bool(v, &b);
	(void)spmif_parse_ipproto(v, &u8);
	(void)spmif_kmp_parse(v, &k);
}

static void one_line(const uint8_t *p, size_t n)
{
	static struct spmif_msg m, m2;
	const char *why;
	char *line;
	struct wr w;

	if (spmif_msg_parse(rd_init(p, n), &m, &why) == 0) {
		for (unsigned i = 0; i < m.npos; i++)
			scalars(m.pos[i]);
		for (unsigned i = 0; i < m.nkv; i++)
			scalars(m.kv[i].val);
		/* round trip: encode what we decoded, parse it again */
		wr_init(&w, 0);
		wr_bytes(&w, m.verb, strlen(m.verb));
		for (unsigned i = 0; i < m.nkv; i++)
			spmif_put_str(&w, m.kv[i].key, m.kv[i].val);
		if (!wr_error(&w) && w.len < SPMIF_LINE_MAX) {
			if (spmif_msg_parse(rd_init(w.buf, w.len), &m2, &why) !=
			    0)
				abort();
			if (m2.nkv != m.nkv)
				abort();
			for (unsigned i = 0; i < m.nkv; i++)
				if (strcmp(m.kv[i].key, m2.kv[i].key) ||
				    strcmp(m.kv[i].val, m2.kv[i].val))
					abort();
		}
		wr_free(&w);
	}

	/* the client's parsers take NUL-terminated text */
	line = malloc(n + 1);
	if (!line)
		return;
	memcpy(line, p, n);
	line[n] = '\0';
	{
		struct spmif_acquire a;
		struct ksel s;
		char buf[SPMIF_VAL_MAX];

		struct spmif_migrate_ev mg;

		(void)spmif_acquire_parse(line, n, &a);
		(void)spmif_migrate_parse(line, n, &mg);
		(void)spmif_line_sel(line, n, &s);
		(void)spmif_line_kv(line, n, "selector", buf, sizeof(buf));
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

#ifdef SPMIF_FUZZ_SERVER
	server_run(data, size);
#endif
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			one_line(data + start, i - start);
			start = i + 1;
		}
	}
	return 0;
}
