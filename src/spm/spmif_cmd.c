/*
 * spmif_cmd.c - spmd's spmif command table and handlers (doc/spmif.7):
 * each request is checked against its argument table before its handler
 * runs; the connection side (spmif_server.c) calls spmif_dispatch() for
 * each complete line.
 */
#include "spm/resolver.h"
#include "spm/spmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/ctlsock.h"
#include "lib/log.h"
#include "spm/spd_conf.h"
#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"
#include "lib/util.h"

#include "spm/spmif_server_int.h"

#define MOD "spmif"

/* ---- command table ---------------------------------------------------- */

enum arg_type {
	T_NAME, /* configuration name */
	T_U32,
	T_U64,
	T_PREFIX, /* address[/plen] */
	T_ADDR,
	T_MODE,
	T_PROTO, /* upper-layer protocol */
	T_PORT,
	T_BOOL,
	T_KIND, /* static|dynamic|all */
};

struct arg_spec {
	const char *key;
	enum arg_type type;
	bool required;
};

struct cmd;
typedef void (*cmd_fn)(struct conn *c, const struct spmif_msg *m);

#define C_NOAUTH 0x1 /* allowed before LOGIN */

struct cmd {
	const char *verb;
	const char *sub; /* first positional word, or NULL */
	unsigned maxpos; /* positional words besides sub */
	const struct arg_spec *args;
	cmd_fn fn;
	unsigned flags;
	const char *usage;
};

static int check_arg(const struct arg_spec *a, const char *v)
{
	struct kaddr addr;
	uint8_t u8;
	uint64_t u;
	bool b;
	enum kmode mode;

	switch (a->type) {
	case T_NAME:
		return strlen(v) < SPMIF_NAME_MAX ? 0 : -EINVAL;
	case T_U32:
		return spmif_parse_u64(v, UINT32_MAX, &u);
	case T_U64:
		return spmif_parse_u64(v, UINT64_MAX / 2000, &u);
	case T_PREFIX:
		return spmif_parse_prefix(v, &addr, &u8);
	case T_ADDR:
		return spmif_parse_addr(v, &addr);
	case T_MODE:
		return spmif_parse_mode(v, &mode);
	case T_PROTO:
		return spmif_parse_ipproto(v, &u8);
	case T_PORT:
		return spmif_parse_u64(v, 65535, &u);
	case T_BOOL:
		return spmif_parse_bool(v, &b);
	case T_KIND:
		return strcmp(v, "static") && strcmp(v, "dynamic") &&
			       strcmp(v, "all")
			   ? -EINVAL
			   : 0;
	}
	return -EINVAL;
}

static const char *type_name(enum arg_type t)
{
	static const char *const n[] = {
	    [T_NAME] = "a name (< 64 bytes)",
	    [T_U32] = "a number",
	    [T_U64] = "a number",
	    [T_PREFIX] = "an address or address/prefixlen",
	    [T_ADDR] = "an IPv4/IPv6 address",
	    [T_MODE] = "transport or tunnel",
	    [T_PROTO] = "a protocol name or number",
	    [T_PORT] = "a port number",
	    [T_BOOL] = "yes or no",
	    [T_KIND] = "static, dynamic or all",
	};
	return n[t];
}

static void cmd_login(struct conn *c, const struct spmif_msg *m);
static void cmd_register(struct conn *c, const struct spmif_msg *m);
static void cmd_policy_add(struct conn *c, const struct spmif_msg *m);
static void cmd_policy_delete(struct conn *c, const struct spmif_msg *m);
static void cmd_policy_dump(struct conn *c, const struct spmif_msg *m);
static void cmd_slid(struct conn *c, const struct spmif_msg *m);
static void cmd_reqid(struct conn *c, const struct spmif_msg *m);
static void cmd_migrate(struct conn *c, const struct spmif_msg *m);
static void cmd_status(struct conn *c, const struct spmif_msg *m);
static void cmd_reload(struct conn *c, const struct spmif_msg *m);
static void cmd_monitor(struct conn *c, const struct spmif_msg *m);
static void cmd_quit(struct conn *c, const struct spmif_msg *m);
static void cmd_ns(struct conn *c, const struct spmif_msg *m);
static void cmd_fqdn(struct conn *c, const struct spmif_msg *m);

static const struct arg_spec no_args[] = {{NULL, 0, false}};
static const struct arg_spec add_args[] = {
    {"selector", T_NAME, true}, {"src", T_PREFIX, true},
    {"dst", T_PREFIX, true},	{"lifetime", T_U64, false},
    {"mode", T_MODE, false},	{"sa_src", T_ADDR, false},
    {"sa_dst", T_ADDR, false},	{"proto", T_PROTO, false},
    {"sport", T_PORT, false},	{"dport", T_PORT, false},
    {"persist", T_BOOL, false}, {NULL, 0, false},
};
static const struct arg_spec del_args[] = {
    {"id", T_U32, false},
    {"selector", T_NAME, false},
    {NULL, 0, false},
};
static const struct arg_spec dump_args[] = {
    {"kind", T_KIND, false},
    {NULL, 0, false},
};
static const struct arg_spec slid_args[] = {
    {"index", T_U32, false},
    {NULL, 0, false},
};
static const struct arg_spec reqid_args[] = {
    {"selector", T_NAME, false}, {"policy", T_NAME, false},
    {"src", T_PREFIX, false},	 {"dst", T_PREFIX, false},
    {"proto", T_PROTO, false},	 {NULL, 0, false},
};
/* required, but also given positionally (racoon2's form): checked by
 * cmd_migrate */
static const struct arg_spec migrate_args[] = {
    {"selector", T_NAME, false}, {"old_src", T_ADDR, false},
    {"old_dst", T_ADDR, false},	 {"new_src", T_ADDR, false},
    {"new_dst", T_ADDR, false},	 {NULL, 0, false},
};

static const struct cmd cmds[] = {
    {"LOGIN", NULL, 1, no_args, cmd_login, C_NOAUTH, "LOGIN <hmac>"},
    {"QUIT", NULL, 0, no_args, cmd_quit, C_NOAUTH, "QUIT"},
    {"EXIT", NULL, 0, no_args, cmd_quit, C_NOAUTH, "EXIT"},
    {"REGISTER", NULL, 1, no_args, cmd_register, 0,
     "REGISTER ikev2|ikev1|kink"},
    {"POLICY", "ADD", 0, add_args, cmd_policy_add, 0,
     "POLICY ADD selector=NAME src=PFX dst=PFX [lifetime=SEC] "
     "[mode=transport|tunnel] [sa_src=A sa_dst=A] [proto=P] [sport=N] "
     "[dport=N] [persist=yes]"},
    {"POLICY", "DELETE", 0, del_args, cmd_policy_delete, 0,
     "POLICY DELETE id=N | selector=NAME"},
    {"POLICY", "DUMP", 0, dump_args, cmd_policy_dump, 0,
     "POLICY DUMP [kind=static|dynamic|all]"},
    {"SLID", NULL, 1, slid_args, cmd_slid, 0, "SLID index=N"},
    {"REQID", NULL, 0, reqid_args, cmd_reqid, 0,
     "REQID selector=NAME|policy=NAME [src=PFX dst=PFX [proto=P]]"},
    {"MIGRATE", NULL, 5, migrate_args, cmd_migrate, 0,
     "MIGRATE selector=NAME old_src=A old_dst=A new_src=A new_dst=A | "
     "MIGRATE SELECTOR SRC0 DST0 SRC DST"},
    {"STATUS", NULL, 0, no_args, cmd_status, 0, "STATUS"},
    {"STAT", NULL, 0, no_args, cmd_status, 0, "STAT"},
    {"RELOAD", NULL, 0, no_args, cmd_reload, 0, "RELOAD"},
    {"MONITOR", NULL, 0, no_args, cmd_monitor, 0, "MONITOR"},
    /* racoon2's nameserver list operations (its doc/spmif.txt) */
    {"NS", "LIST", 0, no_args, cmd_ns, 0, "NS LIST"},
    {"NS", "ADD", 1, no_args, cmd_ns, 0, "NS ADD ADDRESS"},
    {"NS", "DELETE", 1, no_args, cmd_ns, 0, "NS DELETE ADDRESS"},
    {"NS", "CHANGE", 1, no_args, cmd_ns, 0, "NS CHANGE ADDRESS"},
    /* racoon2's FQDN list and cache (its doc/spmif.txt) */
    {"FQDN", "LIST", 0, no_args, cmd_fqdn, 0, "FQDN LIST"},
    {"FQDN", "ADD", 1, no_args, cmd_fqdn, 0, "FQDN ADD NAME"},
    {"FQDN", "DEL", 1, no_args, cmd_fqdn, 0, "FQDN DEL NAME"},
    {"FQDN", "DELETE", 1, no_args, cmd_fqdn, 0, "FQDN DELETE NAME"},
    {"FQDN", "QUERY", 1, no_args, cmd_fqdn, 0, "FQDN QUERY ADDRESS"},
};

/* Find the command and enforce the generic rules of its table row. */
void spmif_dispatch(struct conn *c, const struct spmif_msg *m)
{
	const struct cmd *cmd = NULL;
	bool verb_known = false;
	unsigned npos;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].verb, m->verb) != 0)
			continue;
		verb_known = true;
		if (cmds[i].sub &&
		    (m->npos == 0 || strcasecmp(cmds[i].sub, m->pos[0]) != 0))
			continue;
		cmd = &cmds[i];
		break;
	}
	if (!cmd) {
		if (verb_known)
			reply(c, SPMIF_E_SYNTAX, "%s needs %s", m->verb,
			      strcmp(m->verb, "NS") == 0
				  ? "LIST, ADD, DELETE or CHANGE"
			      : strcmp(m->verb, "FQDN") == 0
				  ? "LIST, ADD, DEL or QUERY"
				  : "ADD, DELETE or DUMP");
		else
			reply(c, SPMIF_E_UNKNOWN, "unknown command %s",
			      m->verb);
		return;
	}
	if (!c->authed && !(cmd->flags & C_NOAUTH)) {
		reply(c, SPMIF_E_AUTH, "LOGIN first");
		return;
	}
	npos = m->npos - (cmd->sub ? 1 : 0);
	if (npos > cmd->maxpos) {
		reply(c, SPMIF_E_SYNTAX, "too many words; usage: %s",
		      cmd->usage);
		return;
	}
	for (unsigned i = 0; i < m->nkv; i++) {
		const struct arg_spec *a;

		for (a = cmd->args; a->key; a++)
			if (strcmp(a->key, m->kv[i].key) == 0)
				break;
		if (!a->key) {
			reply(c, SPMIF_E_SYNTAX,
			      "unknown argument %s; usage: %s", m->kv[i].key,
			      cmd->usage);
			return;
		}
		if (check_arg(a, m->kv[i].val) < 0) {
			reply(c, SPMIF_E_SYNTAX, "%s must be %s", a->key,
			      type_name(a->type));
			return;
		}
	}
	for (const struct arg_spec *a = cmd->args; a->key; a++) {
		if (a->required && !spmif_msg_get(m, a->key)) {
			reply(c, SPMIF_E_SYNTAX, "missing %s; usage: %s",
			      a->key, cmd->usage);
			return;
		}
	}
	cmd->fn(c, m);
}

/* ---- commands --------------------------------------------------------- */

static void cmd_login(struct conn *c, const struct spmif_msg *m)
{
	char want[SPMIF_CHALLENGE_HEX + 1];

	if (c->authed) {
		reply(c, SPMIF_OK, "already logged in");
		return;
	}
	if (m->npos != 1 ||
	    spmif_login_response(c->srv->password, c->srv->pwlen, c->challenge,
				 want, sizeof(want)) < 0 ||
	    strlen(m->pos[0]) != strlen(want) ||
	    CRYPTO_memcmp(m->pos[0], want, strlen(want)) != 0) {
		mem_wipe(want, sizeof(want));
		log_warn(MOD, "client pid %d: wrong LOGIN", (int)c->pid);
		reply(c, SPMIF_E_AUTH, "login failed");
		c->closing = true;
		return;
	}
	mem_wipe(want, sizeof(want));
	c->authed = true;
	reply(c, SPMIF_OK, "login ok");
}

static void cmd_quit(struct conn *c, const struct spmif_msg *m)
{
	reply(c, 221, "bye");
	c->closing = true;
}

static void cmd_register(struct conn *c, const struct spmif_msg *m)
{
	struct spmif_server *s = c->srv;
	enum spmif_kmp kmp;

	if (m->npos != 1 || spmif_kmp_parse(m->pos[0], &kmp) < 0) {
		reply(c, SPMIF_E_SYNTAX, "usage: REGISTER ikev2|ikev1|kink");
		return;
	}
	if (s->kmp[kmp] && s->kmp[kmp] != c) {
		reply(c, SPMIF_E_EXISTS, "%s already registered by pid %d",
		      spmif_kmp_name(kmp), (int)s->kmp[kmp]->pid);
		return;
	}
	/* one daemon, one KMP; iked speaks IKEv2 and IKEv1 and registers
	 * both on its connection (c->kmp stays the first) */
	if (c->kmp && c->kmp != kmp &&
	    !((c->kmp == SPMIF_KMP_IKEV2 && kmp == SPMIF_KMP_IKEV1) ||
	      (c->kmp == SPMIF_KMP_IKEV1 && kmp == SPMIF_KMP_IKEV2))) {
		reply(c, SPMIF_E_EXISTS, "this connection is already %s",
		      spmif_kmp_name(c->kmp));
		return;
	}
	if (!c->kmp)
		c->kmp = kmp;
	s->kmp[kmp] = c;
	log_info(MOD, "pid %d registered as %s", (int)c->pid,
		 spmif_kmp_name(kmp));
	reply(c, SPMIF_OK, "registered %s", spmif_kmp_name(kmp));
}

static void put_entry(struct wr *w, const struct spd_entry *e,
		      const struct spd_dyn *dyn, const struct kpolicy *live)
{
	char buf[16], idx[16];
	const struct kpolicy *kp = &e->kp;

	spmif_put_str(w, "kind", dyn ? "dynamic" : "static");
	snprintf(idx, sizeof(idx), "0x%08x", kp->index);
	spmif_put_str(w, "index", idx);
	spmif_put_str(w, "dir", spmif_dir_str(kp->dir));
	spmif_put_str(w, "selector", e->selector);
	spmif_put_str(w, "policy", e->policy);
	if (e->remote[0])
		spmif_put_str(w, "remote", e->remote);
	if (e->kmp)
		spmif_put_str(w, "kmp", spmif_kmp_name(e->kmp));
	spmif_put_sel(w, &kp->sel);
	spmif_put_str(w, "action", spmif_action_str(kp->action));
	spmif_put_u64(w, "priority", kp->priority);
	if (kp->ntmpl) {
		const struct ktmpl *t = &kp->tmpl[0];
		char list[64] = "";

		for (unsigned i = 0; i < kp->ntmpl && i < KPOL_MAX_TMPL; i++) {
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s%s",
				 i ? "," : "",
				 spmif_ipproto_str(kp->tmpl[i].proto, buf,
						   sizeof(buf)));
		}
		spmif_put_str(w, "ipsec", list);
		spmif_put_str(w, "mode", spmif_mode_str(t->mode));
		spmif_put_str(w, "level", spmif_level_str(t->level));
		spmif_put_u64(w, "reqid", t->reqid);
		if (t->mode == KMODE_TUNNEL) {
			spmif_put_addr(w, "sa_src", &t->src);
			spmif_put_addr(w, "sa_dst", &t->dst);
		}
	}
	if (dyn) {
		spmif_put_u64(w, "id", dyn->id);
		spmif_put_str(w, "owner", dyn->owner ? "kmp" : "persist");
		if (dyn->expires_ms) {
			uint64_t now = ev_now_ms();

			spmif_put_u64(w, "expires",
				      dyn->expires_ms > now
					  ? (dyn->expires_ms - now) / 1000
					  : 0);
		}
	}
	if (live) {
		spmif_put_str(w, "state", "installed");
		spmif_put_u64(w, "bytes", live->cur_bytes);
		spmif_put_u64(w, "packets", live->cur_packets);
		spmif_put_u64(w, "add_time", live->add_time);
		spmif_put_u64(w, "use_time", live->use_time);
	} else {
		spmif_put_str(w, "state", e->installed ? "missing" : "failed");
	}
}

struct live_set {
	struct kpolicy *v;
	size_t n, cap;
	int err;
};

static int live_cb(const struct kpolicy *kp, void *arg)
{
	struct live_set *l = arg;

	if (!kpol_index_owned(kp->index))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct kpolicy *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *kp;
	return 0;
}

static int live_cmp(const void *a, const void *b)
{
	const struct kpolicy *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static const struct kpolicy *live_find(const struct live_set *l, uint32_t index)
{
	struct kpolicy key = {.index = index};

	if (!l->v)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(key), live_cmp);
}

static void cmd_policy_dump(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	const char *kind = spmif_msg_get(m, "kind");
	bool want_static = !kind || strcmp(kind, "dynamic") != 0;
	bool want_dyn = !kind || strcmp(kind, "static") != 0;
	struct live_set live = {0};
	size_t count = 0;
	struct wr w;

	/* kernel state and counters, matched by index */
	if (k_pol_dump(&d->k, live_cb, &live) < 0 || live.err) {
		free(live.v);
		reply(c, SPMIF_E_FAILED, "kernel dump failed: %s",
		      d->k.last_error);
		return;
	}
	qsort(live.v, live.n, sizeof(*live.v), live_cmp);
	wr_init(&w, SPMIF_LINE_MAX - 1);
	if (want_static) {
		for (size_t i = 0; i < d->spd.stat.n; i++) {
			const struct spd_entry *e = &d->spd.stat.v[i];

			wr_reset(&w);
			wr_bytes(&w, "250-policy", 10);
			put_entry(&w, e, NULL, live_find(&live, e->kp.index));
			conn_put(c, &w);
			count++;
		}
	}
	if (want_dyn) {
		for (const struct spd_dyn *y = d->spd.dyn; y; y = y->next) {
			for (size_t i = 0; i < y->n; i++) {
				wr_reset(&w);
				wr_bytes(&w, "250-policy", 10);
				put_entry(&w, &y->e[i], y,
					  live_find(&live, y->e[i].kp.index));
				conn_put(c, &w);
				count++;
			}
		}
	}
	wr_free(&w);
	free(live.v);
	reply(c, SPMIF_OK, "count=%zu", count);
}

static int msg_prefix(const struct spmif_msg *m, const char *key,
		      struct kaddr *a, uint8_t *plen)
{
	const char *v = spmif_msg_get(m, key);

	return v ? spmif_parse_prefix(v, a, plen) : -ENOENT;
}

static bool msg_u64(const struct spmif_msg *m, const char *key, uint64_t max,
		    uint64_t *out)
{
	const char *v = spmif_msg_get(m, key);

	return v && spmif_parse_u64(v, max, out) == 0;
}

static void cmd_policy_add(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	struct spd_dyn_req q;
	struct spd_entry e[3];
	struct spd_dyn *dyn;
	char err[1024] = "";
	const char *v;
	bool persist = false;
	uint64_t u;
	size_t n;
	int rc;

	memset(&q, 0, sizeof(q));
	q.selector = spmif_msg_get(m, "selector");
	if (msg_prefix(m, "src", &q.sp_src, &q.src_plen) < 0 ||
	    msg_prefix(m, "dst", &q.sp_dst, &q.dst_plen) < 0) {
		reply(c, SPMIF_E_SYNTAX, "bad src/dst");
		return;
	}
	if (q.sp_src.af != q.sp_dst.af) {
		reply(c, SPMIF_E_SYNTAX, "src and dst of different families");
		return;
	}
	if (msg_u64(m, "lifetime", UINT64_MAX / 2000, &u))
		q.lifetime_sec = u;
	if ((v = spmif_msg_get(m, "mode")) != NULL) {
		q.has_mode = true;
		(void)spmif_parse_mode(v, &q.mode);
	}
	if ((v = spmif_msg_get(m, "sa_src")) != NULL)
		(void)spmif_parse_addr(v, &q.sa_src);
	if ((v = spmif_msg_get(m, "sa_dst")) != NULL)
		(void)spmif_parse_addr(v, &q.sa_dst);
	if (!q.sa_src.af != !q.sa_dst.af ||
	    (q.sa_src.af && q.sa_src.af != q.sa_dst.af)) {
		reply(c, SPMIF_E_SYNTAX,
		      "sa_src and sa_dst go together "
		      "(same family)");
		return;
	}
	if ((v = spmif_msg_get(m, "proto")) != NULL) {
		q.has_proto = true;
		(void)spmif_parse_ipproto(v, &q.proto);
	}
	if (msg_u64(m, "sport", 65535, &u)) {
		q.has_sport = true;
		q.sport = (uint16_t)u;
	}
	if (msg_u64(m, "dport", 65535, &u)) {
		q.has_dport = true;
		q.dport = (uint16_t)u;
	}
	if ((v = spmif_msg_get(m, "persist")) != NULL)
		(void)spmif_parse_bool(v, &persist);

	rc = spd_conf_dynamic(&d->spd, d->conf, &q, e, &n, err, sizeof(err));
	if (rc == -ENOENT) {
		reply(c, SPMIF_E_NOTFOUND, "%s", err);
		return;
	}
	if (rc < 0) {
		reply(c, SPMIF_E_FAILED, "%s", err);
		return;
	}
	rc = spd_dyn_add(&d->spd, persist ? NULL : c, q.lifetime_sec, e, n,
			 &dyn, err, sizeof(err));
	if (rc < 0) {
		reply(c, rc == -EEXIST ? SPMIF_E_EXISTS : SPMIF_E_FAILED, "%s",
		      err[0] ? err : strerror(-rc));
		return;
	}
	if (!persist)
		c->owns_dyn = true; /* lives as long as this connection */
	char idx[3][16] = {"0", "0", "0"};

	for (size_t i = 0; i < dyn->n; i++)
		snprintf(idx[i], sizeof(idx[i]), "0x%08x", dyn->e[i].kp.index);
	reply(c, SPMIF_OK, "id=%u reqid=%u %s=%s %s=%s%s%s", dyn->id,
	      dyn->e[0].kp.ntmpl ? dyn->e[0].kp.tmpl[0].reqid : 0,
	      spmif_dir_str(dyn->e[0].kp.dir), idx[0],
	      spmif_dir_str(dyn->e[1].kp.dir), idx[1],
	      dyn->n > 2 ? " fwd=" : "", dyn->n > 2 ? idx[2] : "");
}

static void cmd_policy_delete(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	const char *sel = spmif_msg_get(m, "selector");
	uint64_t id;
	size_t count = 0;

	if (msg_u64(m, "id", UINT32_MAX, &id)) {
		if (sel) {
			reply(c, SPMIF_E_SYNTAX,
			      "give id or selector, not both");
			return;
		}
		if (spd_dyn_del(&d->spd, (uint32_t)id) < 0) {
			reply(c, SPMIF_E_NOTFOUND, "no dynamic policy %" PRIu64,
			      id);
			return;
		}
		reply(c, SPMIF_OK, "deleted id=%" PRIu64, id);
		return;
	}
	if (!sel) {
		reply(c, SPMIF_E_SYNTAX,
		      "usage: POLICY DELETE id=N | "
		      "selector=NAME");
		return;
	}
	for (;;) {
		struct spd_dyn *y;

		for (y = d->spd.dyn; y; y = y->next)
			if (strcmp(y->e[0].selector, sel) == 0)
				break;
		if (!y)
			break;
		spd_dyn_del(&d->spd, y->id);
		count++;
	}
	if (!count)
		reply(c, SPMIF_OK_NONE, "no dynamic policy from selector %s",
		      sel);
	else
		reply(c, SPMIF_OK, "deleted count=%zu", count);
}

static void cmd_slid(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	const struct spd_entry *e;
	const struct spd_dyn *dyn;
	const char *v = spmif_msg_get(m, "index");
	uint64_t idx;
	struct wr w;

	if (!v && m->npos == 1)
		v = m->pos[0];
	if (!v || (spmif_parse_u64(v, UINT32_MAX, &idx) < 0)) {
		reply(c, SPMIF_E_SYNTAX, "usage: SLID index=N");
		return;
	}
	e = spd_find_index(&d->spd, (uint32_t)idx, &dyn);
	if (!e) {
		reply(c, SPMIF_E_NOTFOUND, "no policy with index %" PRIu64,
		      idx);
		return;
	}
	wr_init(&w, SPMIF_LINE_MAX - 1);
	wr_bytes(&w, "250", 3);
	spmif_put_str(&w, "selector", e->selector);
	spmif_put_str(&w, "policy", e->policy);
	if (e->remote[0])
		spmif_put_str(&w, "remote", e->remote);
	spmif_put_str(&w, "dir", spmif_dir_str(e->kp.dir));
	if (dyn)
		spmif_put_u64(&w, "id", dyn->id);
	spmif_put_sel(&w, &e->kp.sel);
	conn_put(c, &w);
	wr_free(&w);
}

/*
 * REQID: the reqid (and the names) of the policy a key daemon negotiates
 * a CHILD SA for, from spmd's own tables: a responder learns it without
 * reading the kernel's SPD (doc/spmif.7).
 */
static void cmd_reqid(struct conn *c, const struct spmif_msg *m)
{
	static const char usage[] =
	    "usage: REQID selector=NAME|policy=NAME [src=PFX dst=PFX "
	    "[proto=P]]";
	struct spmd *d = c->srv->d;
	const char *sel = spmif_msg_get(m, "selector");
	const char *pol = spmif_msg_get(m, "policy");
	const char *src = spmif_msg_get(m, "src");
	const char *dst = spmif_msg_get(m, "dst");
	const char *proto = spmif_msg_get(m, "proto");
	const struct spd_entry *e;
	struct ksel q, *qp = NULL;
	uint32_t reqid = 0;
	struct wr w;

	if ((!sel && !pol) || !src != !dst || (proto && !src)) {
		reply(c, SPMIF_E_SYNTAX, "%s", usage);
		return;
	}
	if (src) {
		memset(&q, 0, sizeof(q));
		/* the argument table checked both */
		(void)spmif_parse_prefix(src, &q.src, &q.src_plen);
		(void)spmif_parse_prefix(dst, &q.dst, &q.dst_plen);
		if (q.src.af != q.dst.af) {
			reply(c, SPMIF_E_SYNTAX, "src and dst families differ");
			return;
		}
		q.af = q.src.af;
		if (proto)
			(void)spmif_parse_ipproto(proto, &q.proto);
		qp = &q;
	}
	e = spd_find_reqid(&d->spd, sel, pol, qp, &reqid);
	if (!e) {
		reply(c, SPMIF_E_NOTFOUND,
		      "no IPsec policy with a reqid for %s", sel ? sel : pol);
		return;
	}
	wr_init(&w, SPMIF_LINE_MAX - 1);
	wr_bytes(&w, "250", 3);
	spmif_put_u64(&w, "reqid", reqid);
	spmif_put_str(&w, "selector", e->selector);
	spmif_put_str(&w, "policy", e->policy);
	if (e->remote[0])
		spmif_put_str(&w, "remote", e->remote);
	spmif_put_str(&w, "dir", spmif_dir_str(e->kp.dir));
	if (e->kp.index)
		spmif_put_u64(&w, "index", e->kp.index);
	conn_put(c, &w);
	wr_free(&w);
}

/*
 * MIGRATE, in racoon2's positional form (its spmd shell.c: "MIGRATE
 * SELECTOR SRC0 DST0 SRC DST", answered "250 Migrate SELECTOR" or 550) or
 * with keys.  The SA endpoints of the selector's policy move from
 * SRC0/DST0 to SRC/DST through the kernel backend (spd_migrate), SAs in
 * place.  Refused with nothing changed: a missing or malformed word, the
 * families of a pair differing, an unknown selector.
 */
static void cmd_migrate(struct conn *c, const struct spmif_msg *m)
{
	static const char *const keys[] = {"old_src", "old_dst", "new_src",
					   "new_dst"};
	struct spmd *d = c->srv->d;
	struct kaddr a[4];
	const char *sel;
	bool r2 = m->npos > 0;
	int rc;

	if (r2 && (m->npos != 5 || m->nkv)) {
		reply(c, SPMIF_E_SYNTAX,
		      "usage: MIGRATE SELECTOR SRC0 DST0 SRC DST");
		return;
	}
	sel = r2 ? m->pos[0] : spmif_msg_get(m, "selector");
	if (!sel || !sel[0] || strlen(sel) >= SPMIF_NAME_MAX) {
		reply(c, SPMIF_E_SYNTAX,
		      "usage: MIGRATE selector=NAME "
		      "old_src=A old_dst=A new_src=A "
		      "new_dst=A");
		return;
	}
	for (int i = 0; i < 4; i++) {
		const char *v = r2 ? m->pos[i + 1] : spmif_msg_get(m, keys[i]);

		if (!v || spmif_parse_addr(v, &a[i]) < 0) {
			reply(c, SPMIF_E_SYNTAX,
			      "%s must be an IPv4/IPv6 address", keys[i]);
			return;
		}
	}
	if (a[0].af != a[1].af || a[2].af != a[3].af) {
		reply(c, SPMIF_E_SYNTAX, "address families of a pair differ");
		return;
	}
	rc = spd_migrate(&d->spd, sel, &a[0], &a[1], &a[2], &a[3]);
	if (rc > 0) {
		log_notice(MOD, "MIGRATE %s by pid %d: %d policy(ies)", sel,
			   (int)c->pid, rc);
		if (r2)
			reply(c, SPMIF_OK, "Migrate %s", sel);
		else
			reply(c, SPMIF_OK, "migrated count=%d", rc);
	} else if (rc == -ENOENT) {
		reply(c, r2 ? SPMIF_E_FAILED : SPMIF_E_NOTFOUND,
		      "Operation Failed, selector not found: %s", sel);
	} else if (rc == 0) {
		if (r2)
			reply(c, SPMIF_E_FAILED,
			      "Operation Failed(sl_index=%s): no SA endpoints "
			      "to migrate",
			      sel);
		else
			reply(c, SPMIF_OK_NONE,
			      "no template with those endpoints");
	} else {
		reply(c, SPMIF_E_FAILED, "Operation Failed(sl_index=%s): %s",
		      sel, d->k.last_error);
	}
}

static void status_line(struct conn *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void status_line(struct conn *c, const char *key, const char *fmt, ...)
{
	char val[256];
	struct wr w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	wr_init(&w, SPMIF_LINE_MAX - 1);
	wr_bytes(&w, "250-", 4);
	wr_bytes(&w, key, strlen(key));
	wr_u8(&w, '=');
	wr_bytes(&w, val, strlen(val));
	conn_put(c, &w);
	wr_free(&w);
}

/* NS LIST | ADD A | DELETE A | CHANGE A (racoon2's doc/spmif.txt): the
 * list's first entry is the nameserver in use; ADD puts a new one first,
 * CHANGE moves a listed one first.  551: already listed (ADD) or not
 * listed (DELETE, CHANGE); 251: the list is empty. */
static void cmd_ns(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	const char *op = m->pos[0];
	char buf[INET6_ADDRSTRLEN + 16];
	struct kaddr a;
	size_t i;

	if (strcasecmp(op, "LIST") == 0) {
		struct wr w;

		if (d->nns == 0) {
			reply(c, SPMIF_OK_NONE, "no nameserver");
			return;
		}
		wr_init(&w, SPMIF_LINE_MAX - 1);
		for (i = 0; i + 1 < d->nns; i++) {
			wr_reset(&w);
			wr_bytes(&w, "250-", 4);
			spmif_addr_str(&d->ns[i].addr, buf, sizeof(buf));
			wr_bytes(&w, buf, strlen(buf));
			conn_put(c, &w);
		}
		wr_free(&w);
		reply(c, SPMIF_OK, "%s",
		      spmif_addr_str(&d->ns[i].addr, buf, sizeof(buf)));
		return;
	}
	if (m->npos != 2 || spmif_parse_addr(m->pos[1], &a) < 0) {
		reply(c, SPMIF_E_SYNTAX, "usage: NS %s ADDRESS", op);
		return;
	}
	for (i = 0; i < d->nns; i++)
		if (kaddr_eq(&d->ns[i].addr, &a))
			break;
	spmif_addr_str(&a, buf, sizeof(buf));
	if (strcasecmp(op, "ADD") == 0) {
		if (i < d->nns) {
			reply(c, SPMIF_E_NOTFOUND,
			      "nameserver %s already "
			      "listed",
			      buf);
			return;
		}
		if (d->nns == SPMD_NS_MAX) {
			reply(c, SPMIF_E_FAILED, "at most %d nameservers",
			      SPMD_NS_MAX);
			return;
		}
		memmove(&d->ns[1], &d->ns[0], d->nns * sizeof(d->ns[0]));
		memset(&d->ns[0], 0, sizeof(d->ns[0]));
		d->ns[0].addr = a;
		d->ns[0].port = 53;
		d->nns++;
	} else if (i == d->nns) {
		reply(c, SPMIF_E_NOTFOUND, "nameserver %s not listed", buf);
		return;
	} else if (strcasecmp(op, "DELETE") == 0) {
		memmove(&d->ns[i], &d->ns[i + 1],
			(d->nns - i - 1) * sizeof(d->ns[0]));
		d->nns--;
	} else { /* CHANGE */
		struct spmd_ns t = d->ns[i];

		memmove(&d->ns[1], &d->ns[0], i * sizeof(d->ns[0]));
		d->ns[0] = t;
	}
	log_notice(MOD, "nameserver %s: %s by pid %d", buf, op, (int)c->pid);
	resolver_ns_changed(d->resolver);
	reply(c, SPMIF_OK, "%s %s", op, buf);
}

/* FQDN LIST | ADD NAME | DEL NAME | QUERY ADDRESS (racoon2's
 * doc/spmif.txt): the names whose addresses spmd keeps; QUERY gives the
 * name a cached address belongs to (501 when none). */
static void cmd_fqdn(struct conn *c, const struct spmif_msg *m)
{
	struct resolver *r = c->srv->d->resolver;
	const char *op = m->pos[0];
	struct kaddr a;
	const char *name;
	int rc;

	if (!r) {
		reply(c, SPMIF_E_FAILED, "no resolver");
		return;
	}
	if (strcasecmp(op, "LIST") == 0) {
		size_t n = resolver_fqdn_count(r);
		struct wr w;

		if (n == 0) {
			reply(c, SPMIF_OK_NONE, "no FQDN");
			return;
		}
		wr_init(&w, SPMIF_LINE_MAX - 1);
		for (size_t i = 0; i + 1 < n; i++) {
			wr_reset(&w);
			wr_bytes(&w, "250-", 4);
			name = resolver_fqdn_name(r, i);
			wr_bytes(&w, name, strlen(name));
			conn_put(c, &w);
		}
		wr_free(&w);
		reply(c, SPMIF_OK, "%s", resolver_fqdn_name(r, n - 1));
		return;
	}
	if (m->npos != 2) {
		reply(c, SPMIF_E_SYNTAX, "usage: FQDN %s %s", op,
		      strcasecmp(op, "QUERY") == 0 ? "ADDRESS" : "NAME");
		return;
	}
	if (strcasecmp(op, "QUERY") == 0) {
		if (spmif_parse_addr(m->pos[1], &a) < 0) {
			reply(c, SPMIF_E_SYNTAX, "usage: FQDN QUERY ADDRESS");
			return;
		}
		name = resolver_fqdn_query(r, &a);
		if (name)
			reply(c, SPMIF_OK, "%s", name);
		else
			reply(c, SPMIF_E_NOTCACHED, "not cached");
		return;
	}
	if (strcasecmp(op, "ADD") == 0)
		rc = resolver_fqdn_add(r, m->pos[1]);
	else
		rc = resolver_fqdn_del(r, m->pos[1]);
	if (rc == -EINVAL)
		reply(c, SPMIF_E_SYNTAX, "not a host name");
	else if (rc == -EEXIST)
		reply(c, SPMIF_E_FAILED, "already listed");
	else if (rc == -ENOENT)
		reply(c, SPMIF_E_FAILED, "not listed");
	else if (rc < 0)
		reply(c, SPMIF_E_FAILED, "%s", strerror(-rc));
	else {
		log_notice(MOD, "FQDN %s: %s by pid %d", m->pos[1], op,
			   (int)c->pid);
		reply(c, SPMIF_OK, "%s %s", op, m->pos[1]);
	}
}

static void cmd_status(struct conn *c, const struct spmif_msg *m)
{
	struct spmif_server *s = c->srv;
	struct spmd *d = s->d;
	const struct spd_stats *st = &d->spd.st;
	size_t ndyn = 0, ndynk = 0;

	for (const struct spd_dyn *y = d->spd.dyn; y; y = y->next) {
		ndyn++;
		ndynk += y->n;
	}
	status_line(c, "pid", "%d", (int)getpid());
	status_line(c, "uptime", "%" PRIu64,
		    (ev_now_ms() - d->started_ms) / 1000);
	status_line(c, "config", "%s", d->conf_path);
	status_line(c, "backend", "%s", d->backend);
	status_line(c, "static_policies", "%zu", d->spd.stat.n);
	status_line(c, "dynamic_policies", "%zu", ndyn);
	status_line(c, "dynamic_kernel_policies", "%zu", ndynk);
	for (int k = SPMIF_KMP_IKEV2; k <= SPMIF_KMP_KINK; k++) {
		char key[32];

		snprintf(key, sizeof(key), "kmp_%s", spmif_kmp_name(k));
		if (s->kmp[k])
			status_line(c, key, "pid:%d", (int)s->kmp[k]->pid);
		else
			status_line(c, key, "none");
	}
	status_line(c, "resolver", "%s",
		    resolver_running(d->resolver)	   ? "on"
		    : d->conf && d->conf->resolver.enabled ? "stopped"
							   : "off");
	status_line(c, "fqdn_names", "%zu", resolver_fqdn_count(d->resolver));
	status_line(c, "clients", "%zu", s->nconns);
	status_line(c, "clients_dropped_idle", "%" PRIu64, s->idle_drops);
	status_line(c, "clients_evicted", "%" PRIu64, s->evictions);
	status_line(c, "acquires", "%" PRIu64, st->acquires);
	status_line(c, "acquires_routed", "%" PRIu64, st->acquires_routed);
	status_line(c, "acquires_dropped", "%" PRIu64, st->acquires_dropped);
	status_line(c, "reloads", "%" PRIu64, st->reloads);
	status_line(c, "reload_failures", "%" PRIu64, st->reload_failures);
	status_line(c, "reloads_partial", "%" PRIu64, st->reloads_partial);
	status_line(c, "dynamic_added", "%" PRIu64, st->dyn_added);
	status_line(c, "dynamic_removed", "%" PRIu64, st->dyn_removed);
	status_line(c, "kernel_errors", "%" PRIu64, st->kernel_errors);
	status_line(c, "resyncs", "%" PRIu64, st->resyncs);
	status_line(c, "resync_reinstalled", "%" PRIu64,
		    st->resync_reinstalled);
	status_line(c, "resync_removed", "%" PRIu64, st->resync_removed);
	reply(c, SPMIF_OK, "ok");
}

static void cmd_reload(struct conn *c, const struct spmif_msg *m)
{
	struct spmd *d = c->srv->d;
	char *err = calloc(1, 16384);
	struct spd_plan counts;
	int rc;

	if (!err) {
		reply(c, SPMIF_E_FAILED, "out of memory");
		return;
	}
	rc = spmd_reload(d, err, 16384, &counts);
	if (rc < 0)
		reply_lines(c, SPMIF_E_FAILED, err,
			    "reload rejected; running state kept");
	else
		reply(c, SPMIF_OK,
		      "reloaded added=%zu updated=%zu "
		      "unchanged=%zu deleted=%zu",
		      counts.nadd, counts.nupd, counts.nkeep, counts.ndel);
	free(err);
}

static void cmd_monitor(struct conn *c, const struct spmif_msg *m)
{
	c->monitor = true;
	reply(c, SPMIF_OK, "monitoring ACQUIRE events");
}
