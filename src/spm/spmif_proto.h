/*
 * spmif_proto.h - the spmif wire format, shared by spmd (server), the
 * client library, spmdctl and the fuzz harness.
 *
 * A message is one line of printable ASCII ending in LF (a CR before
 * the LF is tolerated), at most SPMIF_LINE_MAX bytes.  Tokens are
 * separated by spaces.  Requests are "VERB [WORD...] [key=value...]";
 * replies start with a three-digit code followed by ' ' (final line) or
 * '-' (continuation line); events start with a 6xx code.  Values are
 * percent-encoded (%XX) when they hold bytes outside the safe set, so
 * configuration names with spaces or quotes survive the trip.
 *
 * struct spmif_msg holds a decoded request; it owns no heap memory.
 */
#ifndef RACOON_SPMIF_PROTO_H
#define RACOON_SPMIF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "lib/rd.h"
#include "lib/wr.h"

#define SPMIF_LINE_MAX 4096 /* including the LF */
#define SPMIF_MAX_KV   24
#define SPMIF_MAX_POS  5   /* racoon2: MIGRATE SELECTOR SRC0 DST0 SRC DST */
#define SPMIF_KEY_MAX  16  /* incl. NUL */
#define SPMIF_VAL_MAX  256 /* decoded, incl. NUL */
#define SPMIF_VERB_MAX 16

/* Event codes (server -> client, unsolicited). */
#define SPMIF_EV_ACQUIRE     600
#define SPMIF_EV_POLICY_GONE 601
#define SPMIF_EV_MIGRATE     602

struct spmif_kv_pair {
	char key[SPMIF_KEY_MAX];
	char val[SPMIF_VAL_MAX];
};

struct spmif_msg {
	char verb[SPMIF_VERB_MAX]; /* upper-cased */
	unsigned npos;		   /* positional words after the verb */
	char pos[SPMIF_MAX_POS][SPMIF_VAL_MAX];
	unsigned nkv;
	struct spmif_kv_pair kv[SPMIF_MAX_KV];
};

/*
 * Parse one request line (without its LF; a trailing CR is ignored).
 * Returns 0, or -EBADMSG with *why set to a static explanation.
 */
int spmif_msg_parse(struct rd line, struct spmif_msg *m, const char **why);
/* Value of key, or NULL. */
const char *spmif_msg_get(const struct spmif_msg *m, const char *key);

/* Split "key=value" tokens out of an arbitrary line (reply/event). */
const char *spmif_line_kv(const char *line, size_t len, const char *key,
			  char *buf, size_t buflen);

/*
 * Strict form of spmif_line_kv: 1 with the decoded value in buf when
 * key occurs exactly once, 0 when it is absent, -EBADMSG when it is
 * there but malformed (bad escape, empty, too long) or repeated.
 */
int spmif_line_get(const char *line, size_t len, const char *key, char *buf,
		   size_t buflen);

/* Strict scalar parsers over NUL-terminated decoded values. */
int spmif_parse_u64(const char *s, uint64_t max, uint64_t *out);
int spmif_parse_addr(const char *s, struct kaddr *a);
/* "addr" or "addr/plen"; plen defaults to the full length. */
int spmif_parse_prefix(const char *s, struct kaddr *a, uint8_t *plen);
int spmif_parse_mode(const char *s, enum kmode *mode);
int spmif_parse_dir(const char *s, enum kdir *dir);
int spmif_parse_bool(const char *s, bool *v);
/* "esp", "ah", "ipcomp" or a number. */
int spmif_parse_ipproto(const char *s, uint8_t *proto);

/* Writers: append " key=value" (value encoded) to w. */
void spmif_put_str(struct wr *w, const char *key, const char *val);
void spmif_put_u64(struct wr *w, const char *key, uint64_t v);
void spmif_put_addr(struct wr *w, const char *key, const struct kaddr *a);
void spmif_put_prefix(struct wr *w, const char *key, const struct kaddr *a,
		      uint8_t plen);
/* The selector as src= dst= proto= sport= dport= [ifindex=]. */
void spmif_put_sel(struct wr *w, const struct ksel *s);
/* Parse the same keys back from a line. */
int spmif_line_sel(const char *line, size_t len, struct ksel *s);

/*
 * The packet that triggered an ACQUIRE (RFC 7296 §2.9), as
 * pkt_src= pkt_dst= [pkt_proto= [pkt_sport= pkt_dport=]].  The writer
 * emits nothing unless s is host to host (a backend without the packet
 * reports a wider selector), the protocol only when known and each port
 * only when pinned (mask 0xffff; ICMP type/code as XFRM puts them) and,
 * for TCP, UDP, SCTP, UDP-Lite and DCCP, not 0 (not chosen yet).
 * The parser is strict: both addresses of one family, no prefix, ports
 * only with a protocol; s->af == 0 when the line has no packet.
 * Parsed ports get mask 0xffff, prefixes the full host length.
 */
void spmif_put_pkt(struct wr *w, const struct ksel *s);
int spmif_line_pkt(const char *line, size_t len, struct ksel *s);

/* Text forms (static strings). */
const char *spmif_mode_str(enum kmode m);
const char *spmif_dir_str(enum kdir d);
const char *spmif_action_str(enum kaction a);
const char *spmif_level_str(enum klevel l);
const char *spmif_ipproto_str(uint8_t proto, char *buf, size_t len);
const char *spmif_addr_str(const struct kaddr *a, char *buf, size_t len);

/* Password challenge: hex HMAC-SHA256(password, challenge). */
#define SPMIF_CHALLENGE_HEX 64
int spmif_login_response(const char *password, size_t pwlen,
			 const char *challenge, char *out, size_t outlen);
/* Read a password file (trailing CR/LF stripped) after the owner/mode
 * check of PSK files (read_file_secret, lib/util.h: -EPERM, reason
 * logged); *pw is malloc'd and must be wiped (mem_wipe) and freed
 * by the caller. */
int spmif_read_password(const char *path, char **pw, size_t *len);

#endif
