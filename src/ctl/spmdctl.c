/*
 * spmdctl.c - command line control of spmd over spmif.
 *
 *   spmdctl [-d] [-f RACOON2_CONF] [-s SOCKET] [-P PASSWORD_FILE]
 *           [-j|--json] COMMAND ...
 *
 * racoon2's command lines (spmdctl(8) of racoon2, same words, same
 * argument order, unambiguous prefixes of its words accepted as racoon2
 * does): ns add|delete ADDR, ns list, policy add SELECTOR LIFETIME
 * transport|tunnel SP_SRC SP_DST [SA_SRC SA_DST], policy delete
 * SELECTOR, policy show, migrate SELECTOR SRC0 DST0 SRC DST, status,
 * reload.  The socket and the spmd_password file come from the
 * configuration (-f, default racoon2.conf).  Additions: policy show
 * all|static|dynamic (one line per policy), policy add k=v..., policy
 * delete id=N|selector=NAME, slid INDEX, register KMP (acts as a test key
 * daemon and prints the ACQUIREs it gets), monitor, raw LINE.  Exit
 * status: 0 success, 1 spmd refused or failed the operation, 2 usage
 * error, 3 spmd unreachable.
 *
 * All memory is owned by main(); replies are released after printing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"

#include "lib/ev.h"
#include "lib/log.h"
#include "spm/spd_conf.h"
#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"

#define EXIT_FAIL      1
#define EXIT_USAGE     2
#define EXIT_CONN      3
#define DEFAULT_SOCKET SPMD_DEFAULT_SOCKET
#define TIMEOUT_MS     30000

static bool json;
static bool trace; /* -d: show every line exchanged, as racoon2's -d */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: spmdctl [-d] [-f RACOON2_CONF] [-s SOCKET] "
	    "[-P PASSWORD_FILE] [-j] COMMAND\n"
	    "racoon2 commands:\n"
	    "  ns add|delete ADDRESS          add/delete a nameserver\n"
	    "  ns list                        nameservers (first: in use)\n"
	    "  policy add SELECTOR LIFETIME transport|tunnel SP_SRC SP_DST\n"
	    "             [SA_SRC SA_DST]     add a policy from a selector\n"
	    "  policy delete SELECTOR         delete it\n"
	    "  policy show                    policies, racoon2's layout\n"
	    "  migrate SELECTOR SRC0 DST0 SRC DST\n"
	    "                                 move tunnel endpoints\n"
	    "  status                         daemon state and counters\n"
	    "  reload                         re-read the configuration\n"
	    "additions:\n"
	    "  policy show all|static|dynamic one line per policy\n"
	    "  policy add selector=NAME src=PFX dst=PFX [lifetime=SEC]\n"
	    "             [mode=transport|tunnel] [sa_src=A sa_dst=A]\n"
	    "             [proto=P] [sport=N] [dport=N]\n"
	    "  policy delete id=N | selector=NAME\n"
	    "  slid INDEX                     names of a kernel policy\n"
	    "  register ikev2|ikev1|kink [-n COUNT]\n"
	    "                                 act as a KMP, print ACQUIREs\n"
	    "  monitor [-n COUNT]             print every ACQUIRE\n"
	    "  raw LINE                       send one spmif request\n"
	    "options:\n"
	    "  -d          show every line exchanged with spmd\n"
	    "  -f FILE     racoon2.conf giving the socket (interface { spmd\n"
	    "              { unix PATH; }; }) and the spmd_password file\n"
	    "              (default %s)\n"
	    "  -s SOCKET   spmif socket (overrides the configuration)\n"
	    "  -P FILE     spmd_password file (overrides the configuration)\n"
	    "  -j, --json  JSON output for show/status\n",
	    CONF_DEFAULT_PATH);
}

/* ---- JSON ------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static bool numeric_key(const char *k)
{
	static const char *const keys[] = {
	    "priority",
	    "reqid",
	    "id",
	    "proto",
	    "sport",
	    "dport",
	    "bytes",
	    "packets",
	    "add_time",
	    "use_time",
	    "expires",
	    "count",
	    "pid",
	    "uptime",
	    "ifindex",
	    "static_policies",
	    "dynamic_policies",
	    "dynamic_kernel_policies",
	    "clients",
	    "acquires",
	    "acquires_routed",
	    "acquires_dropped",
	    "reloads",
	    "reload_failures",
	    "reloads_partial",
	    "dynamic_added",
	    "dynamic_removed",
	    "kernel_errors",
	    "resyncs",
	    "resync_reinstalled",
	    "resync_removed",
	    "clients_dropped_idle",
	    "clients_evicted",
	    NULL,
	};
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* One "k=v k=v" line as a JSON object. */
static void json_object(const char *line)
{
	struct rd r = rd_init(line, strlen(line));
	bool first = true;

	putchar('{');
	while (!rd_empty(&r)) {
		char key[64], val[SPMIF_VAL_MAX];
		size_t n = 0, eq = 0;

		while (!rd_empty(&r) && r.p[0] == ' ')
			(void)rd_skip(&r, 1);
		while (n < r.len && r.p[n] != ' ')
			n++;
		if (n == 0)
			break;
		while (eq < n && r.p[eq] != '=')
			eq++;
		if (eq == n || eq >= sizeof(key)) {
			(void)rd_skip(&r, n);
			continue; /* a bare word ("policy") */
		}
		memcpy(key, r.p, eq);
		key[eq] = '\0';
		if (!spmif_line_kv(line, strlen(line), key, val, sizeof(val)))
			val[0] = '\0';
		(void)rd_skip(&r, n);
		printf("%s", first ? "" : ",");
		first = false;
		json_str(key);
		putchar(':');
		if (numeric_key(key) && all_digits(val))
			printf("%s", val);
		else
			json_str(val);
	}
	putchar('}');
}

/* ---- commands -------------------------------------------------------- */

static int result(const struct spmif_reply *r)
{
	if (r->code >= 200 && r->code < 300)
		return 0;
	fprintf(stderr, "spmdctl: spmd: %d %s\n", r->code, r->text);
	for (size_t i = 0; i < r->nlines; i++)
		fprintf(stderr, "spmdctl:   %s\n", r->lines[i]);
	return EXIT_FAIL;
}

static int call(struct spmif_client *c, const char *line, struct spmif_reply *r)
{
	int rc;

	if (trace) {
		printf("[MSG   TO SPMD] %s\n", line);
		fflush(stdout);
	}
	rc = spmif_call(c, line, TIMEOUT_MS, r);
	if (rc < 0) {
		fprintf(stderr, "spmdctl: %s: %s\n", line, strerror(-rc));
		return EXIT_CONN;
	}
	if (trace) {
		for (size_t i = 0; i < r->nlines; i++)
			printf("[MSG FROM SPMD] %d-%s\n", r->code, r->lines[i]);
		printf("[MSG FROM SPMD] %d %s\n", r->code, r->text);
		fflush(stdout);
	}
	return 0;
}

static void print_policy_text(const char *l)
{
	char v[24][SPMIF_VAL_MAX];
	static const char *const keys[] = {
	    "kind",  "dir",    "index",	  "src",      "dst",	 "proto",
	    "sport", "dport",  "action",  "ipsec",    "mode",	 "level",
	    "reqid", "sa_src", "sa_dst",  "selector", "remote",	 "kmp",
	    "state", "bytes",  "packets", "id",	      "expires", "policy",
	};
	size_t len = strlen(l);

	for (size_t i = 0; i < 24; i++)
		if (!spmif_line_kv(l, len, keys[i], v[i], sizeof(v[i])))
			v[i][0] = '\0';
	printf("%-7s %-3s %s %s -> %s", v[0], v[1], v[2], v[3], v[4]);
	if (strcmp(v[5], "0") != 0)
		printf(" proto %s", v[5]);
	if (strcmp(v[6], "0") != 0)
		printf(" sport %s", v[6]);
	if (strcmp(v[7], "0") != 0)
		printf(" dport %s", v[7]);
	printf(" %s", v[8]);
	if (v[9][0]) {
		printf(" %s/%s/%s reqid %s", v[9], v[10], v[11], v[12]);
		if (v[13][0])
			printf(" %s->%s", v[13], v[14]);
	}
	printf("  [selector %s policy %s", v[15], v[23]);
	if (v[16][0])
		printf(" remote %s", v[16]);
	if (v[17][0])
		printf(" %s", v[17]);
	if (v[21][0])
		printf(" id %s", v[21]);
	if (v[22][0])
		printf(" expires %ss", v[22]);
	printf("] %s", v[18]);
	if (strcmp(v[18], "installed") == 0)
		printf(" bytes %s packets %s", v[19], v[20]);
	putchar('\n');
}

/* racoon2's "policy show" layout (spmdctl.c of racoon2, sc_policy_fmt):
 *   SRC/PLEN[PORT] DST/PLEN[PORT] PROTO
 *   	DIR ACTION
 *   	SATYPE MODE [SA_SRC-SA_DST] LEVEL
 *   	created: DATE lastused: DATE
 *   	lifetime: N(s) validtime: N(s)
 *   	selector=NAME spid=N
 * DATE is "%b %d %X %Y" local time (0 when unknown); racoon2's port and
 * protocol "any" are printed the same way. */
static const char *r2_time(const char *v, char *buf, size_t len)
{
	uint64_t t;
	time_t tt;
	struct tm tm;

	if (spmif_parse_u64(v, INT64_MAX, &t) < 0 || t == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	tt = (time_t)t;
	if (!localtime_r(&tt, &tm) ||
	    strftime(buf, len, "%b %d %X %Y", &tm) == 0)
		snprintf(buf, len, "%s", v);
	return buf;
}

static const char *r2_proto(const char *v)
{
	static const struct {
		const char *num, *name;
	} names[] = {
	    {"0", "any"},	 {"1", "icmp"}, {"6", "tcp"},	 {"17", "udp"},
	    {"58", "ipv6-icmp"}, {"47", "gre"}, {"132", "sctp"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].num) == 0)
			return names[i].name;
	return v;
}

static void print_policy_r2(const char *l)
{
	enum {
		SRC,
		DST,
		PROTO,
		SPORT,
		DPORT,
		DIR,
		ACTION,
		IPSEC,
		MODE,
		LEVEL,
		SA_SRC,
		SA_DST,
		ADD,
		USE,
		EXPIRES,
		SELECTOR,
		INDEX,
		N
	};
	static const char *const keys[N] = {
	    "src",	"dst",	    "proto",   "sport",	   "dport",  "dir",
	    "action",	"ipsec",    "mode",    "level",	   "sa_src", "sa_dst",
	    "add_time", "use_time", "expires", "selector", "index",
	};
	char v[N][SPMIF_VAL_MAX], t1[64], t2[64];
	size_t len = strlen(l);
	unsigned long spid;

	for (size_t i = 0; i < N; i++)
		if (!spmif_line_kv(l, len, keys[i], v[i], sizeof(v[i])))
			v[i][0] = '\0';
	for (char *p = v[IPSEC]; *p; p++)
		if (*p == ',')
			*p = '|';
	spid = strtoul(v[INDEX], NULL, 16);
	printf("%s[%s] %s[%s] %s\n", v[SRC],
	       strcmp(v[SPORT], "0") && v[SPORT][0] ? v[SPORT] : "any", v[DST],
	       strcmp(v[DPORT], "0") && v[DPORT][0] ? v[DPORT] : "any",
	       r2_proto(v[PROTO]));
	printf("\t%s %s\n", v[DIR], v[ACTION]);
	if (v[IPSEC][0] && v[SA_SRC][0])
		printf("\t%s %s %s-%s %s\n", v[IPSEC], v[MODE], v[SA_SRC],
		       v[SA_DST], v[LEVEL]);
	else if (v[IPSEC][0])
		printf("\t%s %s %s\n", v[IPSEC], v[MODE], v[LEVEL]);
	printf("\tcreated: %s lastused: %s\n", r2_time(v[ADD], t1, sizeof(t1)),
	       strcmp(v[USE], "0") && v[USE][0]
		   ? r2_time(v[USE], t2, sizeof(t2))
		   : "");
	printf("\tlifetime: %s(s) validtime: 0(s)\n",
	       v[EXPIRES][0] ? v[EXPIRES] : "0");
	printf("\tselector=%s spid=%lu\n", v[SELECTOR], spid);
}

static int cmd_policy_show(struct spmif_client *c, int argc, char **argv)
{
	struct spmif_reply r;
	char line[64] = "POLICY DUMP";
	bool r2 = argc == 0 && !json; /* racoon2's form and layout */
	int rc;

	if (argc > 1 ||
	    (argc == 1 && strcmp(argv[0], "static") &&
	     strcmp(argv[0], "dynamic") && strcmp(argv[0], "all"))) {
		fprintf(stderr, "spmdctl: policy show [all|static|dynamic]\n");
		return EXIT_USAGE;
	}
	if (argc == 1)
		snprintf(line, sizeof(line), "POLICY DUMP kind=%s", argv[0]);
	if ((rc = call(c, line, &r)) != 0)
		return rc;
	if ((rc = result(&r)) != 0) {
		spmif_reply_free(&r);
		return rc;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < r.nlines; i++) {
		const char *l = r.lines[i];

		if (json) {
			printf("%s\n ", i ? "," : "");
			json_object(l);
		} else if (r2) {
			print_policy_r2(l);
		} else {
			print_policy_text(l);
		}
	}
	if (json)
		printf("]\n");
	else if (r.nlines == 0 && !r2)
		printf("no policies\n");
	spmif_reply_free(&r);
	return 0;
}

/* A racoon2-form operation's result: silent on success, racoon2's
 * "<what> operation failed: TEXT" otherwise. */
static int r2_result(const struct spmif_reply *r, const char *what)
{
	if (r->code >= 200 && r->code < 300)
		return 0;
	fprintf(stderr, "%s operation failed: %s\n", what, r->text);
	return EXIT_FAIL;
}

/* Build "POLICY ADD ..." from key=value words (values re-encoded);
 * r2: the words came from racoon2's positional form. */
static int cmd_policy_add(struct spmif_client *c, int argc, char **argv,
			  bool r2)
{
	struct spmif_reply r;
	struct wr w;
	int rc;

	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	wr_init(&w, SPMIF_LINE_MAX - 2);
	wr_bytes(&w, "POLICY ADD", 10);
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			fprintf(stderr,
				"spmdctl: expected key=value, got "
				"\"%s\"\n",
				argv[i]);
			wr_free(&w);
			return EXIT_USAGE;
		}
		*eq = '\0';
		spmif_put_str(&w, argv[i], eq + 1);
		*eq = '=';
	}
	/* spmdctl's connection ends at once: the policy must outlive it */
	spmif_put_str(&w, "persist", "yes");
	wr_u8(&w, 0);
	if (wr_error(&w)) {
		fprintf(stderr, "spmdctl: request too long\n");
		wr_free(&w);
		return EXIT_USAGE;
	}
	rc = call(c, (const char *)w.buf, &r);
	wr_free(&w);
	if (rc)
		return rc;
	rc = r2 ? r2_result(&r, "Policy") : result(&r);
	if (!rc && !r2)
		printf("%s\n", r.text);
	spmif_reply_free(&r);
	return rc;
}

/* racoon2: "word" is an unambiguous prefix of "full" (its strncasecmp
 * with the typed length). */
static bool r2_word(const char *word, const char *full)
{
	size_t n = strlen(word);

	return n > 0 && n <= strlen(full) && strncasecmp(word, full, n) == 0;
}

static bool r2_addr(const char *in, char *out, size_t len)
{
	struct kaddr a;

	if (spmif_parse_addr(in, &a) < 0) {
		fprintf(stderr, "spmdctl: \"%s\" is not an IP address\n", in);
		return false;
	}
	spmif_addr_str(&a, out, len);
	return true;
}

/* racoon2: policy add SELECTOR LIFETIME transport|tunnel SP_SRC SP_DST
 * [SA_SRC SA_DST] (tunnel needs the SA endpoints). */
static int cmd_policy_add_r2(struct spmif_client *c, int argc, char **argv)
{
	static const char *const keys[] = {
	    "selector", "lifetime", "mode", "src", "dst", "sa_src", "sa_dst"};
	char kv[7][SPMIF_VAL_MAX + 16], a[INET6_ADDRSTRLEN];
	char *words[7];
	uint64_t lt;
	bool tunnel;

	if (argc < 5)
		goto usage;
	tunnel = r2_word(argv[2], "tunnel");
	if (!tunnel && !r2_word(argv[2], "transport"))
		goto usage;
	if ((tunnel && argc != 7) || (!tunnel && argc != 5))
		goto usage;
	if (spmif_parse_u64(argv[1], UINT32_MAX, &lt) < 0) {
		fprintf(stderr, "spmdctl: LIFETIME is seconds, got \"%s\"\n",
			argv[1]);
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		const char *v = argv[i];

		if (i == 2)
			v = tunnel ? "tunnel" : "transport";
		if (i >= 3) {
			if (!r2_addr(argv[i], a, sizeof(a)))
				return EXIT_USAGE;
			v = a;
		}
		snprintf(kv[i], sizeof(kv[i]), "%s=%s", keys[i], v);
		words[i] = kv[i];
	}
	return cmd_policy_add(c, argc, words, true);
usage:
	fprintf(stderr, "spmdctl: policy add SELECTOR LIFETIME transport "
			"SP_SRC SP_DST\n"
			"         policy add SELECTOR LIFETIME tunnel SP_SRC "
			"SP_DST SA_SRC SA_DST\n");
	return EXIT_USAGE;
}

/* policy delete SELECTOR (racoon2) | id=N | selector=NAME */
static int cmd_policy_delete(struct spmif_client *c, int argc, char **argv)
{
	struct spmif_reply r;
	char line[SPMIF_LINE_MAX];
	const char *sel = NULL;
	bool r2 = false;
	uint64_t id;
	int rc;

	if (argc != 1 || !argv[0][0]) {
		fprintf(stderr, "spmdctl: policy delete SELECTOR | id=N | "
				"selector=NAME\n");
		return EXIT_USAGE;
	}
	if (strncmp(argv[0], "id=", 3) == 0) {
		if (spmif_parse_u64(argv[0] + 3, UINT32_MAX, &id) < 0) {
			fprintf(stderr, "spmdctl: id=N, N a policy id\n");
			return EXIT_USAGE;
		}
		snprintf(line, sizeof(line), "POLICY DELETE id=%u",
			 (unsigned)id);
	} else {
		struct wr w;

		sel = strncmp(argv[0], "selector=", 9) == 0 ? argv[0] + 9
							    : argv[0];
		r2 = sel == argv[0];
		wr_init(&w, sizeof(line) - 1);
		wr_bytes(&w, "POLICY DELETE", 13);
		spmif_put_str(&w, "selector", sel);
		if (wr_error(&w)) {
			wr_free(&w);
			return EXIT_USAGE;
		}
		memcpy(line, w.buf, w.len);
		line[w.len] = '\0';
		wr_free(&w);
	}
	if ((rc = call(c, line, &r)) != 0)
		return rc;
	rc = r2 ? r2_result(&r, "Policy") : result(&r);
	if (!rc && !r2)
		printf("%s\n", r.text);
	spmif_reply_free(&r);
	return rc;
}

/* racoon2: migrate SELECTOR SRC0 DST0 SRC DST */
static int cmd_migrate(struct spmif_client *c, int argc, char **argv)
{
	static const char *const keys[] = {"old_src", "old_dst", "new_src",
					   "new_dst"};
	struct spmif_reply r;
	char a[INET6_ADDRSTRLEN];
	struct wr w;
	int rc;

	if (argc != 5) {
		fprintf(stderr,
			"spmdctl: migrate SELECTOR SRC0 DST0 SRC DST\n");
		return EXIT_USAGE;
	}
	wr_init(&w, SPMIF_LINE_MAX - 2);
	wr_bytes(&w, "MIGRATE", 7);
	spmif_put_str(&w, "selector", argv[0]);
	for (int i = 0; i < 4; i++) {
		if (!r2_addr(argv[i + 1], a, sizeof(a))) {
			wr_free(&w);
			return EXIT_USAGE;
		}
		spmif_put_str(&w, keys[i], a);
	}
	wr_u8(&w, 0);
	if (wr_error(&w)) {
		wr_free(&w);
		return EXIT_USAGE;
	}
	rc = call(c, (const char *)w.buf, &r);
	wr_free(&w);
	if (rc)
		return rc;
	rc = r2_result(&r, "Migrate");
	spmif_reply_free(&r);
	return rc;
}

/* racoon2: ns add|delete ADDRESS, ns list.  NS LIST answers one
 * nameserver a line, the one in use first (racoon2's doc/spmif.txt). */
static int cmd_ns(struct spmif_client *c, const char *op, const char *addr)
{
	struct spmif_reply r;
	char line[128], a[INET6_ADDRSTRLEN];
	const char *verb;
	int rc;

	if (addr && !r2_addr(addr, a, sizeof(a)))
		return EXIT_USAGE;
	verb = strcmp(op, "list") == 0	? "LIST"
	       : strcmp(op, "add") == 0 ? "ADD"
					: "DELETE";
	snprintf(line, sizeof(line), "NS %s%s%s", verb, addr ? " " : "",
		 addr ? a : "");
	if ((rc = call(c, line, &r)) != 0)
		return rc;
	if (r.code == SPMIF_E_UNKNOWN) {
		fprintf(stderr, "spmdctl: ns: not supported by this spmd (no "
				"nameserver list)\n");
		spmif_reply_free(&r);
		return EXIT_FAIL;
	}
	if (r.code < 200 || r.code >= 300) {
		fprintf(stderr, "spmdctl: ns %s: %d %s\n", op, r.code, r.text);
		spmif_reply_free(&r);
		return EXIT_FAIL;
	}
	if (strcmp(verb, "LIST") == 0) {
		/* racoon2 prints every reply line's text */
		for (size_t i = 0; i < r.nlines; i++)
			printf("%s\n", r.lines[i]);
		if (r.code != SPMIF_OK_NONE)
			printf("%s\n", r.text);
	}
	spmif_reply_free(&r);
	return 0;
}

static int cmd_status(struct spmif_client *c)
{
	struct spmif_reply r;
	int rc;

	if ((rc = call(c, "STATUS", &r)) != 0)
		return rc;
	if ((rc = result(&r)) != 0) {
		spmif_reply_free(&r);
		return rc;
	}
	if (json) {
		char *all = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&all, &len);

		if (!m) {
			spmif_reply_free(&r);
			return EXIT_FAIL;
		}
		for (size_t i = 0; i < r.nlines; i++)
			fprintf(m, "%s ", r.lines[i]);
		fclose(m);
		json_object(all);
		putchar('\n');
		free(all);
	} else {
		for (size_t i = 0; i < r.nlines; i++) {
			const char *eq = strchr(r.lines[i], '=');

			if (eq)
				printf("%-24.*s %s\n", (int)(eq - r.lines[i]),
				       r.lines[i], eq + 1);
		}
	}
	spmif_reply_free(&r);
	return 0;
}

static int simple(struct spmif_client *c, const char *line)
{
	struct spmif_reply r;
	int rc;

	if ((rc = call(c, line, &r)) != 0)
		return rc;
	rc = result(&r);
	if (!rc) {
		for (size_t i = 0; i < r.nlines; i++)
			printf("%s\n", r.lines[i]);
		printf("%s\n", r.text);
	}
	spmif_reply_free(&r);
	return rc;
}

/* raw: print the reply exactly, exit by its class. */
static int cmd_raw(struct spmif_client *c, int argc, char **argv)
{
	struct spmif_reply r;
	char line[SPMIF_LINE_MAX] = "";
	size_t used = 0;
	int rc;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + used, sizeof(line) - used, "%s%s",
				 i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - used)
			return EXIT_USAGE;
		used += (size_t)n;
	}
	if ((rc = call(c, line, &r)) != 0)
		return rc;
	for (size_t i = 0; i < r.nlines; i++)
		printf("%d-%s\n", r.code, r.lines[i]);
	printf("%d %s\n", r.code, r.text);
	rc = r.code >= 200 && r.code < 300 ? 0 : EXIT_FAIL;
	spmif_reply_free(&r);
	return rc;
}

/* ---- acting as a KMP -------------------------------------------------- */

struct kmp_ctx {
	struct ev_loop *loop;
	long remaining; /* events before exit; <0 = forever */
	int status;
};

static void on_acquire(struct spmif_client *c, const struct spmif_acquire *a,
		       void *arg)
{
	struct kmp_ctx *k = arg;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	char ss[INET6_ADDRSTRLEN], sd[INET6_ADDRSTRLEN];

	printf("ACQUIRE kmp=%s index=0x%08x selector=%s policy=%s remote=%s "
	       "src=%s/%u dst=%s/%u proto=%u sport=%u dport=%u sa_src=%s "
	       "sa_dst=%s reqid=%u mode=%s\n",
	       a->kmp ? spmif_kmp_name(a->kmp) : "-", a->pol_index, a->selector,
	       a->policy, a->remote[0] ? a->remote : "-",
	       spmif_addr_str(&a->sel.src, s, sizeof(s)), a->sel.src_plen,
	       spmif_addr_str(&a->sel.dst, d, sizeof(d)), a->sel.dst_plen,
	       a->sel.proto, a->sel.sport, a->sel.dport,
	       spmif_addr_str(&a->sa_src, ss, sizeof(ss)),
	       spmif_addr_str(&a->sa_dst, sd, sizeof(sd)), a->reqid,
	       spmif_mode_str(a->mode));
	fflush(stdout);
	if (k->remaining > 0 && --k->remaining == 0)
		ev_stop(k->loop);
}

static void on_gone(struct spmif_client *c, const struct spmif_policy_gone *g,
		    void *arg)
{
	printf("POLICY-GONE id=%u selector=%s reason=%s\n", g->id, g->selector,
	       g->reason);
	fflush(stdout);
}

static void on_closed(struct spmif_client *c, int err, void *arg)
{
	struct kmp_ctx *k = arg;

	fprintf(stderr, "spmdctl: spmd closed the connection\n");
	k->status = EXIT_CONN;
	ev_stop(k->loop);
}

static void on_sig(struct ev_loop *loop, int signo, void *arg)
{
	ev_stop(loop);
}

static int run_kmp(struct spmif_client *c, struct kmp_ctx *k,
		   const char *kmp_name, int argc, char **argv)
{
	enum spmif_kmp kmp;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			k->remaining = strtol(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "spmdctl: unexpected \"%s\"\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (kmp_name) {
		if (spmif_kmp_parse(kmp_name, &kmp) < 0) {
			fprintf(stderr, "spmdctl: KMP is ikev2, ikev1 or "
					"kink\n");
			return EXIT_USAGE;
		}
		rc = spmif_register(c, kmp);
		if (rc < 0) {
			fprintf(stderr, "spmdctl: register %s: %s\n", kmp_name,
				strerror(-rc));
			return EXIT_FAIL;
		}
	} else {
		struct spmif_reply r;

		if ((rc = call(c, "MONITOR", &r)) != 0)
			return rc;
		rc = result(&r);
		spmif_reply_free(&r);
		if (rc)
			return rc;
	}
	printf("READY\n");
	fflush(stdout);
	if (spmif_attach(c, k->loop) < 0)
		return EXIT_CONN;
	ev_signal(k->loop, SIGTERM, on_sig, k);
	ev_signal(k->loop, SIGINT, on_sig, k);
	if (k->remaining != 0)
		ev_run(k->loop);
	return k->status;
}

/* The racoon2 command words, in racoon2's matching order, and ours.
 * Ours match exactly; racoon2's also by prefix, as racoon2's spmdctl. */
static const char *const r2_cmds[] = {"ns",	"policy", "migrate",
				      "status", "reload", NULL};
static const char *const our_cmds[] = {"status",  "reload", "slid", "register",
				       "monitor", "raw",    NULL};

static const char *match_cmd(const char *w)
{
	for (size_t i = 0; r2_cmds[i]; i++)
		if (strcmp(w, r2_cmds[i]) == 0)
			return r2_cmds[i];
	for (size_t i = 0; our_cmds[i]; i++)
		if (strcmp(w, our_cmds[i]) == 0)
			return our_cmds[i];
	for (size_t i = 0; r2_cmds[i]; i++)
		if (r2_word(w, r2_cmds[i]))
			return r2_cmds[i];
	return NULL;
}

static const char *match_sub(const char *w, const char *const *subs)
{
	for (size_t i = 0; w && subs[i]; i++)
		if (r2_word(w, subs[i]))
			return subs[i];
	return NULL;
}

/* Socket and password file: -s/-P win; then the configuration given by
 * -f; then $SPMD_SOCKET; then the default racoon2.conf if it exists;
 * then the built-in default.  Returns 0 or an exit status. */
static int find_endpoint(const char *conf_path, char **sock, char **pwfile)
{
	struct conf *conf = NULL;
	const char *env = getenv("SPMD_SOCKET");

	if (!conf_path && (*sock || env)) {
		if (!*sock)
			*sock = strdup(env);
		return *sock ? 0 : EXIT_FAIL;
	}
	if (!conf_path && access(CONF_DEFAULT_PATH, R_OK) == 0)
		conf_path = CONF_DEFAULT_PATH;
	if (conf_path) {
		if (conf_cli_load("spmdctl", conf_path, &conf) != 0) {
			fprintf(stderr,
				"spmdctl: failed to parse config file "
				"%s\n",
				conf_path);
			return EXIT_USAGE;
		}
		if (!*sock)
			*sock = strdup(spd_conf_socket(conf));
		if (!*pwfile && conf->iface.spmd_password)
			*pwfile = strdup(conf->iface.spmd_password);
		conf_free(conf);
	} else if (!*sock) {
		*sock = strdup(DEFAULT_SOCKET);
	}
	return *sock ? 0 : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"config-file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const ns_subs[] = {"add", "delete", "list", NULL};
	static const char *const pol_subs[] = {"add", "delete", "show", NULL};
	char *sock = NULL, *pwfile = NULL;
	const char *conf_path = NULL;
	struct spmif_callbacks cbs = {
	    .acquire = on_acquire, .policy_gone = on_gone, .closed = on_closed};
	struct kmp_ctx k = {.remaining = -1};
	struct spmif_client *c;
	const char *cmd, *sub = NULL, *arg;
	int opt, rc, nargs;
	char **args;

	while ((opt = getopt_long(argc, argv, "+s:P:f:djh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 's':
			free(sock);
			sock = strdup(optarg);
			break;
		case 'P':
			free(pwfile);
			pwfile = strdup(optarg);
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'd':
			trace = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	log_init("spmdctl", LOG_TO_STDERR, LOG_LVL_WARN);
	arg = argv[optind++];
	arg = arg ? arg : "";
	cmd = match_cmd(arg);
	arg = optind < argc ? argv[optind] : NULL;

	/* validate the command before connecting: usage errors are 2 */
	if (!cmd) {
		fprintf(stderr, "spmdctl: unknown command \"%s\"\n",
			argv[optind - 1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "ns") == 0) {
		sub = match_sub(arg, ns_subs);
		nargs = argc - optind - 1;
		if (!sub || (strcmp(sub, "list") == 0) != (nargs == 0) ||
		    nargs > 1) {
			fprintf(stderr, "spmdctl: ns add|delete ADDRESS, ns "
					"list\n");
			return EXIT_USAGE;
		}
	} else if (strcmp(cmd, "policy") == 0) {
		sub = match_sub(arg, pol_subs);
		if (!sub) {
			fprintf(stderr, "spmdctl: policy add|delete|show\n");
			return EXIT_USAGE;
		}
	} else if ((strcmp(cmd, "register") == 0 || strcmp(cmd, "slid") == 0 ||
		    strcmp(cmd, "raw") == 0) &&
		   !arg) {
		fprintf(stderr, "spmdctl: %s needs an argument\n", cmd);
		return EXIT_USAGE;
	} else if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0) &&
		   arg) {
		fprintf(stderr, "spmdctl: %s takes no argument\n", cmd);
		return EXIT_USAGE;
	}
	if ((rc = find_endpoint(conf_path, &sock, &pwfile)) != 0) {
		free(sock);
		free(pwfile);
		return rc;
	}

	k.loop = ev_new();
	c = spmif_client_new(&cbs, &k);
	if (!k.loop || !c) {
		fprintf(stderr, "spmdctl: out of memory\n");
		return EXIT_FAIL;
	}
	rc = spmif_connect(c, sock, pwfile);
	if (rc < 0) {
		fprintf(stderr, "spmdctl: cannot talk to spmd at %s: %s\n",
			sock, strerror(-rc));
		spmif_client_free(c);
		ev_free(k.loop);
		free(sock);
		free(pwfile);
		return rc == -EACCES ? EXIT_FAIL : EXIT_CONN;
	}
	if (trace)
		printf("[connected to %s%s]\n", sock,
		       pwfile ? ", logged in" : "");

	/* words after the (sub)command */
	args = argv + optind + (sub ? 1 : 0);
	nargs = argc - optind - (sub ? 1 : 0);
	if (strcmp(cmd, "ns") == 0)
		rc = cmd_ns(c, sub, nargs ? args[0] : NULL);
	else if (strcmp(cmd, "policy") == 0 && strcmp(sub, "show") == 0)
		rc = cmd_policy_show(c, nargs, args);
	else if (strcmp(cmd, "policy") == 0 && strcmp(sub, "add") == 0)
		rc = nargs > 0 && !strchr(args[0], '=')
			 ? cmd_policy_add_r2(c, nargs, args)
			 : cmd_policy_add(c, nargs, args, false);
	else if (strcmp(cmd, "policy") == 0)
		rc = cmd_policy_delete(c, nargs, args);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(c, nargs, args);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(c);
	else if (strcmp(cmd, "reload") == 0)
		rc = simple(c, "RELOAD");
	else if (strcmp(cmd, "slid") == 0) {
		char line[64];
		uint64_t idx;

		if (spmif_parse_u64(arg, UINT32_MAX, &idx) < 0 &&
		    !(strncmp(arg, "0x", 2) == 0 &&
		      (idx = strtoull(arg, NULL, 16)) <= UINT32_MAX)) {
			fprintf(stderr, "spmdctl: slid INDEX\n");
			rc = EXIT_USAGE;
		} else {
			snprintf(line, sizeof(line), "SLID index=%u",
				 (unsigned)idx);
			rc = simple(c, line);
		}
	} else if (strcmp(cmd, "register") == 0)
		rc = run_kmp(c, &k, arg, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "monitor") == 0)
		rc = run_kmp(c, &k, NULL, argc - optind, argv + optind);
	else
		rc = cmd_raw(c, argc - optind, argv + optind);

	spmif_client_free(c);
	ev_free(k.loop);
	free(sock);
	free(pwfile);
	return rc;
}
