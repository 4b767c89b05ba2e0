/*
 * spmdctl.c - command line control of spmd over spmif.
 *
 *   spmdctl [-s SOCKET] [-P PASSWORD_FILE] [-j|--json] COMMAND ...
 *
 * Commands: policy show [static|dynamic], policy add k=v..., policy
 * delete ID|selector=NAME, status, reload, slid INDEX, register KMP
 * (acts as a test key daemon and prints the ACQUIREs it gets), monitor,
 * raw LINE.  Exit status: 0 success, 1 spmd refused or failed the
 * operation, 2 usage error, 3 spmd unreachable.
 *
 * All memory is owned by main(); replies are released after printing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_CONN 3
#define DEFAULT_SOCKET "/var/run/racoon2/spmif"
#define TIMEOUT_MS 30000

static bool json;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spmdctl [-s SOCKET] [-P PASSWORD_FILE] [-j] COMMAND\n"
		"commands:\n"
		"  policy show [static|dynamic]   policies with kernel state\n"
		"  policy add selector=NAME src=PFX dst=PFX [lifetime=SEC]\n"
		"             [mode=transport|tunnel] [sa_src=A sa_dst=A]\n"
		"             [proto=P] [sport=N] [dport=N]\n"
		"  policy delete ID | selector=NAME\n"
		"  status                         daemon state and counters\n"
		"  reload                         re-read the configuration\n"
		"  slid INDEX                     names of a kernel policy\n"
		"  register ikev2|ikev1|kink [-n COUNT]\n"
		"                                 act as a KMP, print ACQUIREs\n"
		"  monitor [-n COUNT]             print every ACQUIRE\n"
		"  raw LINE                       send one spmif request\n"
		"options:\n"
		"  -s SOCKET   spmif socket (default %s)\n"
		"  -P FILE     spmd_password file, when spmd asks for one\n"
		"  -j, --json  JSON output for show/status\n",
		DEFAULT_SOCKET);
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
		"priority", "reqid", "id", "proto", "sport", "dport",
		"bytes", "packets", "add_time", "use_time", "expires",
		"count", "pid", "uptime", "ifindex", "static_policies",
		"dynamic_policies", "dynamic_kernel_policies", "clients",
		"acquires", "acquires_routed", "acquires_dropped", "reloads",
		"reload_failures", "dynamic_added", "dynamic_removed",
		"kernel_errors", "resyncs", "resync_reinstalled",
		"resync_removed", "clients_dropped_idle", "clients_evicted", NULL,
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

static int call(struct spmif_client *c, const char *line,
		struct spmif_reply *r)
{
	int rc = spmif_call(c, line, TIMEOUT_MS, r);

	if (rc < 0) {
		fprintf(stderr, "spmdctl: %s: %s\n", line, strerror(-rc));
		return EXIT_CONN;
	}
	return 0;
}

static void print_policy_text(const char *l)
{
	char v[24][SPMIF_VAL_MAX];
	static const char *const keys[] = {
		"kind", "dir", "index", "src", "dst", "proto", "sport",
		"dport", "action", "ipsec", "mode", "level", "reqid",
		"sa_src", "sa_dst", "selector", "remote", "kmp", "state",
		"bytes", "packets", "id", "expires", "policy",
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

static int cmd_policy_show(struct spmif_client *c, int argc, char **argv)
{
	struct spmif_reply r;
	char line[64] = "POLICY DUMP";
	int rc;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "static") &&
			 strcmp(argv[0], "dynamic") && strcmp(argv[0], "all"))) {
		fprintf(stderr, "spmdctl: policy show [static|dynamic]\n");
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
		} else {
			print_policy_text(l);
		}
	}
	if (json)
		printf("]\n");
	else if (r.nlines == 0)
		printf("no policies\n");
	spmif_reply_free(&r);
	return 0;
}

/* Build "POLICY ADD ..." from key=value words (values re-encoded). */
static int cmd_policy_add(struct spmif_client *c, int argc, char **argv)
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
			fprintf(stderr, "spmdctl: expected key=value, got "
					"\"%s\"\n", argv[i]);
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
	rc = result(&r);
	if (!rc)
		printf("%s\n", r.text);
	spmif_reply_free(&r);
	return rc;
}

static int cmd_policy_delete(struct spmif_client *c, int argc, char **argv)
{
	struct spmif_reply r;
	char line[SPMIF_LINE_MAX];
	uint64_t id;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "spmdctl: policy delete ID | selector=NAME\n");
		return EXIT_USAGE;
	}
	if (spmif_parse_u64(argv[0], UINT32_MAX, &id) == 0) {
		snprintf(line, sizeof(line), "POLICY DELETE id=%u",
			 (unsigned)id);
	} else if (strncmp(argv[0], "selector=", 9) == 0) {
		struct wr w;

		wr_init(&w, sizeof(line) - 1);
		wr_bytes(&w, "POLICY DELETE", 13);
		spmif_put_str(&w, "selector", argv[0] + 9);
		if (wr_error(&w)) {
			wr_free(&w);
			return EXIT_USAGE;
		}
		memcpy(line, w.buf, w.len);
		line[w.len] = '\0';
		wr_free(&w);
	} else {
		fprintf(stderr, "spmdctl: policy delete ID | selector=NAME\n");
		return EXIT_USAGE;
	}
	if ((rc = call(c, line, &r)) != 0)
		return rc;
	rc = result(&r);
	if (!rc)
		printf("%s\n", r.text);
	spmif_reply_free(&r);
	return rc;
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
				printf("%-24.*s %s\n",
				       (int)(eq - r.lines[i]), r.lines[i],
				       eq + 1);
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
	       a->kmp ? spmif_kmp_name(a->kmp) : "-", a->pol_index,
	       a->selector, a->policy, a->remote[0] ? a->remote : "-",
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
	printf("POLICY-GONE id=%u selector=%s reason=%s\n", g->id,
	       g->selector, g->reason);
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("SPMD_SOCKET"), *pwfile = NULL;
	struct spmif_callbacks cbs = { .acquire = on_acquire,
				       .policy_gone = on_gone,
				       .closed = on_closed };
	struct kmp_ctx k = { .remaining = -1 };
	struct spmif_client *c;
	const char *cmd, *sub;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+s:P:jh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'P':
			pwfile = optarg;
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
	if (!sock)
		sock = DEFAULT_SOCKET;
	log_init("spmdctl", LOG_TO_STDERR, LOG_LVL_WARN);
	cmd = argv[optind++];
	sub = optind < argc ? argv[optind] : NULL;

	/* validate the command before connecting: usage errors are 2 */
	bool is_policy = strcmp(cmd, "policy") == 0;

	if (is_policy && (!sub || (strcmp(sub, "show") && strcmp(sub, "add") &&
				   strcmp(sub, "delete")))) {
		fprintf(stderr, "spmdctl: policy show|add|delete\n");
		return EXIT_USAGE;
	}
	if (!is_policy && strcmp(cmd, "status") && strcmp(cmd, "reload") &&
	    strcmp(cmd, "slid") && strcmp(cmd, "register") &&
	    strcmp(cmd, "monitor") && strcmp(cmd, "raw")) {
		fprintf(stderr, "spmdctl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((strcmp(cmd, "register") == 0 || strcmp(cmd, "slid") == 0 ||
	     strcmp(cmd, "raw") == 0) && !sub) {
		fprintf(stderr, "spmdctl: %s needs an argument\n", cmd);
		return EXIT_USAGE;
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
		return rc == -EACCES ? EXIT_FAIL : EXIT_CONN;
	}

	if (is_policy && strcmp(sub, "show") == 0)
		rc = cmd_policy_show(c, argc - optind - 1, argv + optind + 1);
	else if (is_policy && strcmp(sub, "add") == 0)
		rc = cmd_policy_add(c, argc - optind - 1, argv + optind + 1);
	else if (is_policy)
		rc = cmd_policy_delete(c, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(c);
	else if (strcmp(cmd, "reload") == 0)
		rc = simple(c, "RELOAD");
	else if (strcmp(cmd, "slid") == 0) {
		char line[64];
		uint64_t idx;

		if (spmif_parse_u64(sub, UINT32_MAX, &idx) < 0 &&
		    !(strncmp(sub, "0x", 2) == 0 &&
		      (idx = strtoull(sub, NULL, 16)) <= UINT32_MAX)) {
			fprintf(stderr, "spmdctl: slid INDEX\n");
			rc = EXIT_USAGE;
		} else {
			snprintf(line, sizeof(line), "SLID index=%u",
				 (unsigned)idx);
			rc = simple(c, line);
		}
	} else if (strcmp(cmd, "register") == 0)
		rc = run_kmp(c, &k, sub, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "monitor") == 0)
		rc = run_kmp(c, &k, NULL, argc - optind, argv + optind);
	else
		rc = cmd_raw(c, argc - optind, argv + optind);

	spmif_client_free(c);
	ev_free(k.loop);
	return rc;
}
