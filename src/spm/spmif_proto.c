/*
 * spmif_proto.c - tokenizer, value codec and scalar parsers of the
 * spmif line protocol (see spmif_proto.h and doc/spmif.7).
 *
 * All input is read through struct rd; decoded values land in fixed
 * buffers of struct spmif_msg (no heap).  Writers append to a struct wr
 * owned by the caller.
 */
#include "spm/spmif_proto.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/util.h"

/* Bytes sent unencoded inside values; everything else becomes %XX. */
static bool safe_byte(uint8_t c)
{
	return isalnum(c) || c == '.' || c == '_' || c == ':' || c == '/' ||
	       c == '@' || c == '+' || c == '-' || c == ',' || c == '#';
}

/* Next space-separated token; false at end of line. */
static bool next_token(struct rd *r, struct rd *tok)
{
	size_t n = 0;

	while (!rd_empty(r) && r->p[0] == ' ')
		(void)rd_skip(r, 1);
	if (rd_empty(r))
		return false;
	while (n < r->len && r->p[n] != ' ')
		n++;
	return rd_sub(r, n, tok) == 0;
}

/* Percent-decode tok into out (NUL-terminated). */
static int decode_val(struct rd tok, char *out, size_t outlen, const char **why)
{
	size_t o = 0;
	uint8_t c, h, l;

	while (rd_u8(&tok, &c) == 0) {
		if (c == '%') {
			int hi, lo;

			if (rd_u8(&tok, &h) < 0 || rd_u8(&tok, &l) < 0 ||
			    (hi = hex_digit(h)) < 0 ||
			    (lo = hex_digit(l)) < 0) {
				*why = "bad %-escape in value";
				return -EBADMSG;
			}
			c = (uint8_t)(hi << 4 | lo);
			if (c == 0) {
				*why = "NUL byte in value";
				return -EBADMSG;
			}
		}
		if (o + 1 >= outlen) {
			*why = "value too long";
			return -EBADMSG;
		}
		out[o++] = (char)c;
	}
	if (o == 0) {
		*why = "empty value";
		return -EBADMSG;
	}
	out[o] = '\0';
	return 0;
}

int spmif_msg_parse(struct rd line, struct spmif_msg *m, const char **why)
{
	struct rd tok;
	uint8_t c;
	size_t i;

	m->verb[0] = '\0';
	m->npos = 0;
	m->nkv = 0;
	*why = "ok";

	if (line.len > 0 && line.p[line.len - 1] == '\r')
		line.len--;
	if (line.len >= SPMIF_LINE_MAX) {
		*why = "line too long";
		return -EBADMSG;
	}
	for (i = 0; i < line.len; i++) {
		c = line.p[i];
		if (c != ' ' && (c < 0x21 || c > 0x7e)) {
			*why = "control or non-ASCII byte in request";
			return -EBADMSG;
		}
	}

	if (!next_token(&line, &tok)) {
		*why = "empty request";
		return -EBADMSG;
	}
	if (tok.len >= SPMIF_VERB_MAX) {
		*why = "command word too long";
		return -EBADMSG;
	}
	for (i = 0; rd_u8(&tok, &c) == 0; i++) {
		if (!isalpha(c) && c != '-') {
			*why = "command word must be letters";
			return -EBADMSG;
		}
		m->verb[i] = (char)toupper(c);
	}
	m->verb[i] = '\0';

	while (next_token(&line, &tok)) {
		size_t eq = 0;

		while (eq < tok.len && tok.p[eq] != '=')
			eq++;
		if (eq == tok.len) {
			if (m->npos >= SPMIF_MAX_POS) {
				*why = "too many words";
				return -EBADMSG;
			}
			if (decode_val(tok, m->pos[m->npos], sizeof(m->pos[0]),
				       why) < 0)
				return -EBADMSG;
			m->npos++;
			continue;
		}

		struct rd key = rd_init(NULL, 0), val;
		struct spmif_kv_pair *kv;

		if (m->nkv >= SPMIF_MAX_KV) {
			*why = "too many key=value arguments";
			return -EBADMSG;
		}
		if (eq == 0 || eq >= SPMIF_KEY_MAX) {
			*why = "bad key length";
			return -EBADMSG;
		}
		(void)rd_sub(&tok, eq, &key);
		(void)rd_skip(&tok, 1);
		val = rd_rest(&tok);
		kv = &m->kv[m->nkv];
		for (i = 0; rd_u8(&key, &c) == 0; i++) {
			if (!isalnum(c) && c != '_') {
				*why = "bad character in key";
				return -EBADMSG;
			}
			kv->key[i] = (char)tolower(c);
		}
		kv->key[i] = '\0';
		if (spmif_msg_get(m, kv->key)) {
			*why = "duplicate key";
			return -EBADMSG;
		}
		if (decode_val(val, kv->val, sizeof(kv->val), why) < 0)
			return -EBADMSG;
		m->nkv++;
	}
	return 0;
}

const char *spmif_msg_get(const struct spmif_msg *m, const char *key)
{
	for (unsigned i = 0; i < m->nkv; i++)
		if (strcmp(m->kv[i].key, key) == 0)
			return m->kv[i].val;
	return NULL;
}

const char *spmif_line_kv(const char *line, size_t len, const char *key,
			  char *buf, size_t buflen)
{
	struct rd r = rd_init(line, len), tok;
	size_t klen = strlen(key);
	const char *why;

	while (next_token(&r, &tok)) {
		if (tok.len <= klen || memcmp(tok.p, key, klen) != 0 ||
		    tok.p[klen] != '=')
			continue;
		(void)rd_skip(&tok, klen + 1);
		if (decode_val(tok, buf, buflen, &why) < 0)
			return NULL;
		return buf;
	}
	return NULL;
}

int spmif_line_get(const char *line, size_t len, const char *key, char *buf,
		   size_t buflen)
{
	struct rd r = rd_init(line, len), tok;
	size_t klen = strlen(key);
	const char *why;
	int found = 0;

	while (next_token(&r, &tok)) {
		if (tok.len <= klen || memcmp(tok.p, key, klen) != 0 ||
		    tok.p[klen] != '=')
			continue;
		if (found)
			return -EBADMSG; /* one meaning per key */
		(void)rd_skip(&tok, klen + 1);
		if (decode_val(tok, buf, buflen, &why) < 0)
			return -EBADMSG;
		found = 1;
	}
	return found;
}

int spmif_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int spmif_parse_addr(const char *s, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
		a->af = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int spmif_parse_prefix(const char *s, struct kaddr *a, uint8_t *plen)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t v;
	unsigned max;

	if (n == 0 || n >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (spmif_parse_addr(tmp, a) < 0)
		return -EINVAL;
	max = a->af == AF_INET ? 32 : 128;
	if (!slash) {
		*plen = (uint8_t)max;
		return 0;
	}
	if (spmif_parse_u64(slash + 1, max, &v) < 0)
		return -EINVAL;
	*plen = (uint8_t)v;
	return 0;
}

int spmif_parse_mode(const char *s, enum kmode *mode)
{
	if (strcasecmp(s, "transport") == 0)
		*mode = KMODE_TRANSPORT;
	else if (strcasecmp(s, "tunnel") == 0)
		*mode = KMODE_TUNNEL;
	else
		return -EINVAL;
	return 0;
}

int spmif_parse_dir(const char *s, enum kdir *dir)
{
	if (strcasecmp(s, "in") == 0)
		*dir = KDIR_IN;
	else if (strcasecmp(s, "out") == 0)
		*dir = KDIR_OUT;
	else if (strcasecmp(s, "fwd") == 0)
		*dir = KDIR_FWD;
	else
		return -EINVAL;
	return 0;
}

int spmif_parse_bool(const char *s, bool *v)
{
	if (!strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		*v = true;
	else if (!strcmp(s, "0") || !strcasecmp(s, "no") ||
		 !strcasecmp(s, "off"))
		*v = false;
	else
		return -EINVAL;
	return 0;
}

int spmif_parse_ipproto(const char *s, uint8_t *proto)
{
	uint64_t v;

	if (strcasecmp(s, "esp") == 0)
		*proto = IPPROTO_ESP;
	else if (strcasecmp(s, "ah") == 0)
		*proto = IPPROTO_AH;
	else if (strcasecmp(s, "ipcomp") == 0)
		*proto = IPPROTO_COMP;
	else if (strcasecmp(s, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcasecmp(s, "icmp") == 0)
		*proto = IPPROTO_ICMP;
	else if (strcasecmp(s, "icmp6") == 0 || strcasecmp(s, "ipv6-icmp") == 0)
		*proto = IPPROTO_ICMPV6;
	else if (strcasecmp(s, "any") == 0)
		*proto = 0;
	else if (spmif_parse_u64(s, 255, &v) == 0)
		*proto = (uint8_t)v;
	else
		return -EINVAL;
	return 0;
}

static void put_key(struct wr *w, const char *key)
{
	wr_u8(w, ' ');
	wr_bytes(w, key, strlen(key));
	wr_u8(w, '=');
}

void spmif_put_str(struct wr *w, const char *key, const char *val)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = (const uint8_t *)val;

	put_key(w, key);
	if (!*p) {
		/* empty values are not allowed on the wire: send "-" */
		wr_u8(w, '-');
		return;
	}
	for (; *p; p++) {
		if (safe_byte(*p)) {
			wr_u8(w, *p);
		} else {
			wr_u8(w, '%');
			wr_u8(w, (uint8_t)hex[*p >> 4]);
			wr_u8(w, (uint8_t)hex[*p & 15]);
		}
	}
}

void spmif_put_u64(struct wr *w, const char *key, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	put_key(w, key);
	wr_bytes(w, buf, (size_t)n);
}

const char *spmif_addr_str(const struct kaddr *a, char *buf, size_t len)
{
	if (a->af == AF_INET || a->af == AF_INET6) {
		if (inet_ntop(a->af, &a->u, buf, (socklen_t)len))
			return buf;
	}
	snprintf(buf, len, "any");
	return buf;
}

void spmif_put_addr(struct wr *w, const char *key, const struct kaddr *a)
{
	char buf[INET6_ADDRSTRLEN];

	spmif_put_str(w, key, spmif_addr_str(a, buf, sizeof(buf)));
}

void spmif_put_prefix(struct wr *w, const char *key, const struct kaddr *a,
		      uint8_t plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n;

	spmif_addr_str(a, buf, sizeof(buf));
	n = strlen(buf);
	snprintf(buf + n, sizeof(buf) - n, "/%u", plen);
	spmif_put_str(w, key, buf);
}

void spmif_put_sel(struct wr *w, const struct ksel *s)
{
	struct kaddr src = s->src, dst = s->dst;

	/* an unset address of a selector is the family's "any" */
	src.af = dst.af = s->af;
	spmif_put_prefix(w, "src", &src, s->src_plen);
	spmif_put_prefix(w, "dst", &dst, s->dst_plen);
	spmif_put_u64(w, "proto", s->proto);
	spmif_put_u64(w, "sport", s->sport_mask ? s->sport : 0);
	spmif_put_u64(w, "dport", s->dport_mask ? s->dport : 0);
	if (s->ifindex)
		spmif_put_u64(w, "ifindex", s->ifindex);
}

int spmif_line_sel(const char *line, size_t len, struct ksel *s)
{
	char buf[SPMIF_VAL_MAX];
	uint64_t v;

	memset(s, 0, sizeof(*s));
	if (!spmif_line_kv(line, len, "src", buf, sizeof(buf)) ||
	    spmif_parse_prefix(buf, &s->src, &s->src_plen) < 0)
		return -EBADMSG;
	if (!spmif_line_kv(line, len, "dst", buf, sizeof(buf)) ||
	    spmif_parse_prefix(buf, &s->dst, &s->dst_plen) < 0 ||
	    s->dst.af != s->src.af)
		return -EBADMSG;
	s->af = s->src.af;
	if (spmif_line_kv(line, len, "proto", buf, sizeof(buf))) {
		if (spmif_parse_ipproto(buf, &s->proto) < 0)
			return -EBADMSG;
	}
	if (spmif_line_kv(line, len, "sport", buf, sizeof(buf))) {
		if (spmif_parse_u64(buf, 65535, &v) < 0)
			return -EBADMSG;
		s->sport = (uint16_t)v;
		s->sport_mask = v ? 0xffff : 0;
	}
	if (spmif_line_kv(line, len, "dport", buf, sizeof(buf))) {
		if (spmif_parse_u64(buf, 65535, &v) < 0)
			return -EBADMSG;
		s->dport = (uint16_t)v;
		s->dport_mask = v ? 0xffff : 0;
	}
	if (spmif_line_kv(line, len, "ifindex", buf, sizeof(buf))) {
		if (spmif_parse_u64(buf, UINT32_MAX, &v) < 0)
			return -EBADMSG;
		s->ifindex = (uint32_t)v;
	}
	return 0;
}

static unsigned full_plen(uint8_t af)
{
	return af == AF_INET ? 32 : 128;
}

/*
 * Protocols whose port 0 means "not known yet": Linux looks up the
 * policy of a TCP connect before it picks the source port, so the
 * ACQUIRE says sport 0 although the packets will not.  (ICMP type and
 * code 0 are real values.)
 */
static bool port_proto(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_DCCP;
}

void spmif_put_pkt(struct wr *w, const struct ksel *s)
{
	struct kaddr src = s->src, dst = s->dst;

	/* a packet is host to host; anything wider is a policy's selector */
	if ((s->af != AF_INET && s->af != AF_INET6) ||
	    s->src_plen != full_plen(s->af) || s->dst_plen != full_plen(s->af))
		return;
	src.af = dst.af = s->af;
	spmif_put_addr(w, "pkt_src", &src);
	spmif_put_addr(w, "pkt_dst", &dst);
	if (!s->proto)
		return;
	spmif_put_u64(w, "pkt_proto", s->proto);
	if (s->sport_mask == 0xffff && (s->sport || !port_proto(s->proto)))
		spmif_put_u64(w, "pkt_sport", s->sport);
	if (s->dport_mask == 0xffff && (s->dport || !port_proto(s->proto)))
		spmif_put_u64(w, "pkt_dport", s->dport);
}

/* A port of the packet: absent, or 0..65535 and only with a protocol. */
static int line_pkt_port(const char *line, size_t len, const char *key,
			 const struct ksel *s, uint16_t *port, uint16_t *mask)
{
	char buf[SPMIF_VAL_MAX];
	uint64_t v;
	int rc = spmif_line_get(line, len, key, buf, sizeof(buf));

	if (rc <= 0)
		return rc;
	if (!s->proto || spmif_parse_u64(buf, 65535, &v) < 0)
		return -EBADMSG;
	*port = (uint16_t)v;
	*mask = 0xffff;
	return 0;
}

int spmif_line_pkt(const char *line, size_t len, struct ksel *s)
{
	char buf[SPMIF_VAL_MAX];
	int hs, hd, rc;

	memset(s, 0, sizeof(*s));
	hs = spmif_line_get(line, len, "pkt_src", buf, sizeof(buf));
	if (hs < 0 || (hs > 0 && spmif_parse_addr(buf, &s->src) < 0))
		goto bad;
	hd = spmif_line_get(line, len, "pkt_dst", buf, sizeof(buf));
	if (hd < 0 || (hd > 0 && spmif_parse_addr(buf, &s->dst) < 0))
		goto bad;
	if (!hs && !hd) {
		static const char *const rest[] = {"pkt_proto", "pkt_sport",
						   "pkt_dport"};

		/* no packet: then no piece of one either */
		for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
			if (spmif_line_get(line, len, rest[i], buf,
					   sizeof(buf)) != 0)
				goto bad;
		return 0;
	}
	if (!hs || !hd || s->src.af != s->dst.af)
		goto bad;
	s->af = s->src.af;
	s->src_plen = s->dst_plen = (uint8_t)full_plen(s->af);
	rc = spmif_line_get(line, len, "pkt_proto", buf, sizeof(buf));
	if (rc < 0 || (rc > 0 && (spmif_parse_ipproto(buf, &s->proto) < 0 ||
				  s->proto == 0)))
		goto bad; /* "any" is no packet's protocol */
	if (line_pkt_port(line, len, "pkt_sport", s, &s->sport,
			  &s->sport_mask) < 0 ||
	    line_pkt_port(line, len, "pkt_dport", s, &s->dport,
			  &s->dport_mask) < 0)
		goto bad;
	return 0;
bad:
	memset(s, 0, sizeof(*s));
	return -EBADMSG;
}

const char *spmif_mode_str(enum kmode m)
{
	return m == KMODE_TUNNEL ? "tunnel" : "transport";
}

const char *spmif_dir_str(enum kdir d)
{
	switch (d) {
	case KDIR_IN:
		return "in";
	case KDIR_OUT:
		return "out";
	case KDIR_FWD:
		return "fwd";
	}
	return "?";
}

const char *spmif_action_str(enum kaction a)
{
	switch (a) {
	case KPOL_IPSEC:
		return "ipsec";
	case KPOL_DISCARD:
		return "discard";
	case KPOL_BYPASS:
		return "none";
	}
	return "?";
}

const char *spmif_level_str(enum klevel l)
{
	switch (l) {
	case KLEVEL_REQUIRE:
		return "require";
	case KLEVEL_USE:
		return "use";
	case KLEVEL_UNIQUE:
		return "unique";
	}
	return "?";
}

const char *spmif_ipproto_str(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_ESP:
		return "esp";
	case IPPROTO_AH:
		return "ah";
	case IPPROTO_COMP:
		return "ipcomp";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

int spmif_login_response(const char *password, size_t pwlen,
			 const char *challenge, char *out, size_t outlen)
{
	unsigned char mac[32];
	size_t maclen = 0;

	if (outlen < 2 * sizeof(mac) + 1)
		return -ENOSPC;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, password, pwlen,
		       (const unsigned char *)challenge, strlen(challenge), mac,
		       sizeof(mac), &maclen) ||
	    maclen != sizeof(mac))
		return -EIO;
	hex_encode(mac, maclen, out, outlen);
	mem_wipe(mac, sizeof(mac));
	return 0;
}

int spmif_read_password(const char *path, char **pw, size_t *len)
{
	char buf[1024];
	size_t n;
	int rc;

	/* the owner/mode check of PSK files (lib/util.h): a password
	 * others can read is refused, with the reason logged */
	rc = read_file_secret(path, buf, sizeof(buf) - 1, &n);
	if (rc < 0)
		return rc;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0)
		return -ENODATA;
	*pw = malloc(n + 1);
	if (!*pw) {
		mem_wipe(buf, sizeof(buf));
		return -ENOMEM;
	}
	memcpy(*pw, buf, n);
	(*pw)[n] = '\0';
	*len = n;
	mem_wipe(buf, sizeof(buf));
	return 0;
}
