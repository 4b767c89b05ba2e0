/*
 * test_spmif.c - cmocka tests of the spmif wire format (tokenizer,
 * value codec, scalar parsers, event parsing) and of the client
 * library against a scripted server on a socketpair.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spm/spmif_client.h"
#include "spm/spmif_proto.h"
#include "lib/ev.h"
#include "lib/util.h"

static int parse(const char *s, struct spmif_msg *m, const char **why)
{
	return spmif_msg_parse(rd_init(s, strlen(s)), m, why);
}

static void test_parse_ok(void **state)
{
	struct spmif_msg m;
	const char *why;

	assert_int_equal(parse("policy ADD selector=a%20b src=10.0.0.1/32 "
			       "dst=2001:db8::1 persist=yes\r",
			       &m, &why),
			 0);
	assert_string_equal(m.verb, "POLICY");
	assert_int_equal(m.npos, 1);
	assert_string_equal(m.pos[0], "ADD");
	assert_int_equal(m.nkv, 4);
	assert_string_equal(spmif_msg_get(&m, "selector"), "a b");
	assert_string_equal(spmif_msg_get(&m, "dst"), "2001:db8::1");
	assert_null(spmif_msg_get(&m, "lifetime"));

	/* several spaces between tokens, keys case-insensitive */
	assert_int_equal(parse("  SLID   INDEX=5  ", &m, &why), 0);
	assert_string_equal(m.verb, "SLID");
	assert_string_equal(spmif_msg_get(&m, "index"), "5");
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} cases[] = {
	    {"", "empty request"},
	    {"   ", "empty request"},
	    {"STA\tTUS", "control or non-ASCII byte in request"},
	    {"STATUS\x80", "control or non-ASCII byte in request"},
	    {"ST4TUS", "command word must be letters"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "command word too long"},
	    {"X =1", "bad key length"},
	    {"X abcdefghijklmnopq=1", "bad key length"},
	    {"X a-b=1", "bad character in key"},
	    {"X a=1 A=2", "duplicate key"},
	    {"X a=", "empty value"},
	    {"X a=%4", "bad %-escape in value"},
	    {"X a=%zz", "bad %-escape in value"},
	    {"X a=%00", "NUL byte in value"},
	    {"X 1 2 3 4 5 6", "too many words"},
	};
	struct spmif_msg m;
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].in, &m, &why), -EBADMSG);
		assert_string_equal(why, cases[i].why);
	}
	/* embedded NUL is a control byte, not the end of the line */
	assert_int_equal(spmif_msg_parse(rd_init("STATUS\0x", 8), &m, &why),
			 -EBADMSG);
}

static void test_parse_limits(void **state)
{
	struct spmif_msg m;
	const char *why;
	static char line[SPMIF_LINE_MAX + 10];
	size_t n;

	/* too many key=value pairs */
	n = (size_t)sprintf(line, "X");
	for (int i = 0; i <= SPMIF_MAX_KV; i++)
		n += (size_t)sprintf(line + n, " k%d=v", i);
	assert_int_equal(parse(line, &m, &why), -EBADMSG);
	assert_string_equal(why, "too many key=value arguments");
	/* value longer than SPMIF_VAL_MAX - 1 */
	n = (size_t)sprintf(line, "X a=");
	memset(line + n, 'v', SPMIF_VAL_MAX);
	line[n + SPMIF_VAL_MAX] = '\0';
	assert_int_equal(parse(line, &m, &why), -EBADMSG);
	assert_string_equal(why, "value too long");
	/* exactly SPMIF_VAL_MAX - 1 is fine */
	line[n + SPMIF_VAL_MAX - 1] = '\0';
	assert_int_equal(parse(line, &m, &why), 0);
	/* the whole line */
	memset(line, 'A', SPMIF_LINE_MAX);
	assert_int_equal(
	    spmif_msg_parse(rd_init(line, SPMIF_LINE_MAX), &m, &why), -EBADMSG);
	assert_string_equal(why, "line too long");
}

static void test_codec_roundtrip(void **state)
{
	static const char *const names[] = {
	    "plain",
	    "with space",
	    "quote\"and'",
	    "pct%41",
	    "=eq=",
	    "tab\there",
	    "\xc3\xa9t\xc3\xa9",
	    "#12",
	    "a,b:c/d@e+f-g_h.i",
	};
	struct spmif_msg m;
	const char *why;
	struct wr w;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		wr_init(&w, 0);
		wr_bytes(&w, "X", 1);
		spmif_put_str(&w, "name", names[i]);
		assert_int_equal(
		    spmif_msg_parse(rd_init(w.buf, w.len), &m, &why), 0);
		assert_string_equal(spmif_msg_get(&m, "name"), names[i]);
		wr_free(&w);
	}
}

static void test_scalars(void **state)
{
	struct kaddr a;
	uint8_t plen, proto;
	uint64_t v;
	enum kmode mode;
	bool b;

	assert_int_equal(spmif_parse_u64("0", 10, &v), 0);
	assert_int_equal(spmif_parse_u64("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(spmif_parse_u64("11", 10, &v), -ERANGE);
	assert_int_equal(
	    spmif_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_int_equal(
	    spmif_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(spmif_parse_u64("-1", 10, &v), -EINVAL);
	assert_int_equal(spmif_parse_u64("1x", 10, &v), -EINVAL);
	assert_int_equal(spmif_parse_u64("", 10, &v), -EINVAL);

	assert_int_equal(spmif_parse_prefix("198.51.100.0/24", &a, &plen), 0);
	assert_int_equal(a.af, AF_INET);
	assert_int_equal(plen, 24);
	assert_int_equal(spmif_parse_prefix("2001:db8::1", &a, &plen), 0);
	assert_int_equal(plen, 128);
	assert_int_equal(spmif_parse_prefix("10.0.0.1/33", &a, &plen), -EINVAL);
	assert_int_equal(spmif_parse_prefix("10.0.0.1/", &a, &plen), -EINVAL);
	assert_int_equal(spmif_parse_prefix("/8", &a, &plen), -EINVAL);
	assert_int_equal(spmif_parse_prefix("10.0.0.256", &a, &plen), -EINVAL);
	assert_int_equal(spmif_parse_prefix("2001:db8::/129", &a, &plen),
			 -EINVAL);
	assert_int_equal(spmif_parse_addr("host.example", &a), -EINVAL);

	assert_int_equal(spmif_parse_mode("TUNNEL", &mode), 0);
	assert_int_equal(mode, KMODE_TUNNEL);
	assert_int_equal(spmif_parse_mode("tun", &mode), -EINVAL);
	assert_int_equal(spmif_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(spmif_parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(spmif_parse_ipproto("udp", &proto), 0);
	assert_int_equal(proto, IPPROTO_UDP);
	assert_int_equal(spmif_parse_ipproto("256", &proto), -EINVAL);
}

static void test_acquire_roundtrip(void **state)
{
	struct ksel s;
	struct kaddr sa, da;
	struct spmif_acquire a;
	struct wr w;

	memset(&s, 0, sizeof(s));
	s.af = AF_INET6;
	assert_int_equal(
	    spmif_parse_prefix("2001:db8:1::/48", &s.src, &s.src_plen), 0);
	assert_int_equal(
	    spmif_parse_prefix("2001:db8:2::5", &s.dst, &s.dst_plen), 0);
	s.proto = IPPROTO_UDP;
	s.dport = 4242;
	s.dport_mask = 0xffff;
	assert_int_equal(spmif_parse_addr("203.0.113.1", &sa), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.2", &da), 0);

	wr_init(&w, 0);
	wr_bytes(&w, "600 ACQUIRE", 11);
	spmif_put_u64(&w, "seq", 7);
	spmif_put_str(&w, "kmp", "kink");
	spmif_put_u64(&w, "index", 0xa2000011);
	spmif_put_str(&w, "dir", "out");
	spmif_put_str(&w, "selector", "sel one");
	spmif_put_str(&w, "policy", "pol");
	spmif_put_str(&w, "remote", "rem");
	spmif_put_sel(&w, &s);
	spmif_put_addr(&w, "sa_src", &sa);
	spmif_put_addr(&w, "sa_dst", &da);
	spmif_put_u64(&w, "reqid", 4096);
	spmif_put_str(&w, "mode", "tunnel");
	spmif_put_str(&w, "ipsec", "esp");
	assert_int_equal(spmif_acquire_parse((const char *)w.buf, w.len, &a),
			 0);
	assert_int_equal(a.seq, 7);
	assert_int_equal(a.kmp, SPMIF_KMP_KINK);
	assert_int_equal(a.pol_index, 0xa2000011);
	assert_string_equal(a.selector, "sel one");
	assert_string_equal(a.remote, "rem");
	assert_int_equal(a.sel.af, AF_INET6);
	assert_int_equal(a.sel.src_plen, 48);
	assert_int_equal(a.sel.dst_plen, 128);
	assert_int_equal(a.sel.proto, IPPROTO_UDP);
	assert_int_equal(a.sel.dport, 4242);
	assert_int_equal(a.sel.sport_mask, 0);
	assert_true(memcmp(&a.sa_src.u.v4, &sa.u.v4, 4) == 0);
	assert_int_equal(a.reqid, 4096);
	assert_int_equal(a.mode, KMODE_TUNNEL);
	assert_int_equal(a.ipsec_proto, IPPROTO_ESP);
	wr_free(&w);

	/* broken events are rejected, not half-parsed */
	assert_int_equal(spmif_acquire_parse("600 ACQUIRE index=1", 19, &a),
			 -EBADMSG);
	assert_int_equal(spmif_acquire_parse("600 ACQUIRE src=1.2.3.4 "
					     "dst=::1 index=1",
					     39, &a),
			 -EBADMSG);
	assert_int_equal(spmif_acquire_parse("601 X", 5, &a), -EBADMSG);
}

/* The head of an ACQUIRE line that parses; the cases append to it. */
#define ACQ_HEAD                                                               \
	"600 ACQUIRE seq=1 index=9 selector=s src=198.51.100.0/24 "            \
	"dst=203.0.113.0/24 proto=0 sport=0 dport=0"

static int acq_parse(const char *tail, struct spmif_acquire *a)
{
	char line[SPMIF_LINE_MAX];

	snprintf(line, sizeof(line), "%s%s", ACQ_HEAD, tail);
	return spmif_acquire_parse(line, strlen(line), a);
}

/* The line built so far as a C string (NUL kept past len). */
static const char *wr_cstr(struct wr *w)
{
	wr_u8(w, 0);
	assert_int_equal(wr_error(w), 0);
	w->len--;
	return (const char *)w->buf;
}

/* RFC 7296 §2.9 packet selector: writer -> parser, for v4 and v6. */
/* "602 MIGRATE" as spmd writes it (spmif_server_migrate) and the KMP
 * reads it; lines missing a field or mixing families are refused. */
static void test_migrate_event(void **state)
{
	static const char *const bad[] = {
	    "602 MIGRATE",
	    "602 MIGRATE dir=out src=2001:db8::2/128 dst=2001:db8::1/128 "
	    "reqid=5 mode=transport old_src=2001:db8::3 old_dst=2001:db8::1 "
	    "new_src=2001:db8::4",
	    "602 MIGRATE dir=out src=2001:db8::2/128 dst=2001:db8::1/128 "
	    "reqid=5 mode=transport old_src=2001:db8::3 old_dst=2001:db8::1 "
	    "new_src=2001:db8::4 new_dst=198.51.100.1",
	    "602 MIGRATE dir=sideways src=2001:db8::2/128 "
	    "dst=2001:db8::1/128 reqid=5 mode=transport old_src=2001:db8::3 "
	    "old_dst=2001:db8::1 new_src=2001:db8::4 new_dst=2001:db8::1",
	    "602 MIGRATE dir=out src=2001:db8::2/128 dst=2001:db8::1/128 "
	    "reqid=99999999999 mode=transport old_src=2001:db8::3 "
	    "old_dst=2001:db8::1 new_src=2001:db8::4 new_dst=2001:db8::1",
	    "602 MIGRATE dir=out src=2001:db8::2/128 dst=2001:db8::1/128 "
	    "reqid=5 mode=beet old_src=2001:db8::3 old_dst=2001:db8::1 "
	    "new_src=2001:db8::4 new_dst=2001:db8::1",
	    "600 ACQUIRE index=1",
	};
	struct spmif_migrate_ev m;
	struct kaddr a[4];
	struct ksel s;
	struct wr w;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.af = AF_INET6;
	assert_int_equal(
	    spmif_parse_prefix("2001:db8:b0::2", &s.src, &s.src_plen), 0);
	assert_int_equal(
	    spmif_parse_prefix("2001:db8:a0::1", &s.dst, &s.dst_plen), 0);
	assert_int_equal(spmif_parse_addr("2001:db8:c1::2", &a[0]), 0);
	assert_int_equal(spmif_parse_addr("2001:db8:a0::1", &a[1]), 0);
	assert_int_equal(spmif_parse_addr("2001:db8:c2::2", &a[2]), 0);
	assert_int_equal(spmif_parse_addr("2001:db8:a0::1", &a[3]), 0);
	wr_init(&w, 0);
	wr_bytes(&w, "602 MIGRATE", 11);
	spmif_put_str(&w, "kmp", "ikev2");
	spmif_put_u64(&w, "index", 0xa2000009);
	spmif_put_str(&w, "dir", "out");
	spmif_put_str(&w, "selector", "mn_out");
	spmif_put_str(&w, "policy", "mip");
	spmif_put_str(&w, "remote", "ha");
	spmif_put_sel(&w, &s);
	spmif_put_u64(&w, "reqid", 12);
	spmif_put_str(&w, "mode", "transport");
	spmif_put_str(&w, "ipsec", "esp");
	spmif_put_addr(&w, "old_src", &a[0]);
	spmif_put_addr(&w, "old_dst", &a[1]);
	spmif_put_addr(&w, "new_src", &a[2]);
	spmif_put_addr(&w, "new_dst", &a[3]);
	assert_int_equal(spmif_migrate_parse((const char *)w.buf, w.len, &m),
			 0);
	assert_int_equal(m.pol_index, 0xa2000009);
	assert_int_equal(m.dir, KDIR_OUT);
	assert_string_equal(m.selector, "mn_out");
	assert_string_equal(m.remote, "ha");
	assert_int_equal(m.reqid, 12);
	assert_int_equal(m.mode, KMODE_TRANSPORT);
	assert_int_equal(m.ipsec_proto, IPPROTO_ESP);
	assert_int_equal(m.sel.src_plen, 128);
	assert_memory_equal(&m.old_src, &a[0], sizeof(a[0]));
	assert_memory_equal(&m.new_src, &a[2], sizeof(a[2]));
	assert_memory_equal(&m.new_dst, &a[3], sizeof(a[3]));
	wr_free(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    spmif_migrate_parse(bad[i], strlen(bad[i]), &m), -EBADMSG);
}

static void test_acquire_packet(void **state)
{
	struct ksel k, p;
	struct spmif_acquire a;
	struct wr w;
	char b[INET6_ADDRSTRLEN];

	(void)state;
	/* an XFRM-like flow: UDP with both ports pinned */
	memset(&k, 0, sizeof(k));
	k.af = AF_INET6;
	k.src_plen = k.dst_plen = 128;
	assert_int_equal(spmif_parse_addr("2001:db8::1", &k.src), 0);
	assert_int_equal(spmif_parse_addr("2001:db8::2", &k.dst), 0);
	k.proto = IPPROTO_UDP;
	k.sport = 40000;
	k.dport = 53;
	k.sport_mask = k.dport_mask = 0xffff;
	wr_init(&w, 0);
	wr_bytes(&w, ACQ_HEAD, strlen(ACQ_HEAD));
	spmif_put_pkt(&w, &k);
	assert_int_equal(wr_error(&w), 0);
	assert_int_equal(spmif_acquire_parse((const char *)w.buf, w.len, &a),
			 0);
	p = a.pkt;
	assert_int_equal(p.af, AF_INET6);
	assert_int_equal(p.src_plen, 128);
	assert_int_equal(p.dst_plen, 128);
	assert_string_equal(spmif_addr_str(&p.src, b, sizeof(b)),
			    "2001:db8::1");
	assert_string_equal(spmif_addr_str(&p.dst, b, sizeof(b)),
			    "2001:db8::2");
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.sport_mask, 0xffff);
	assert_int_equal(p.dport_mask, 0xffff);
	/* the policy selector is still the policy's */
	assert_int_equal(a.sel.af, AF_INET);
	assert_int_equal(a.sel.src_plen, 24);
	wr_free(&w);

	/* ICMP: type 8 / code 0 travel as pinned ports, 0 included */
	k.af = AF_INET;
	k.src_plen = k.dst_plen = 32;
	assert_int_equal(spmif_parse_addr("198.51.100.1", &k.src), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.9", &k.dst), 0);
	k.proto = IPPROTO_ICMP;
	k.sport = 8;
	k.dport = 0;
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_non_null(strstr(wr_cstr(&w), " pkt_dport=0"));
	assert_int_equal(spmif_line_pkt((const char *)w.buf, w.len, &p), 0);
	assert_int_equal(p.proto, IPPROTO_ICMP);
	assert_int_equal(p.sport, 8);
	assert_int_equal(p.dport, 0);
	assert_int_equal(p.dport_mask, 0xffff);
	wr_free(&w);

	/* no protocol known: addresses only, no ports even if "pinned" */
	k.proto = 0;
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_null(strstr(wr_cstr(&w), "pkt_proto"));
	assert_null(strstr(wr_cstr(&w), "port"));
	assert_int_equal(spmif_line_pkt((const char *)w.buf, w.len, &p), 0);
	assert_int_equal(p.af, AF_INET);
	assert_int_equal(p.proto, 0);
	assert_int_equal(p.sport_mask, 0);
	wr_free(&w);

	/* a TCP connect is looked up before its source port is picked:
	 * the kernel's pinned sport 0 is not sent */
	k.proto = IPPROTO_TCP;
	k.sport = 0;
	k.dport = 8080;
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_null(strstr(wr_cstr(&w), "pkt_sport"));
	assert_int_equal(spmif_line_pkt((const char *)w.buf, w.len, &p), 0);
	assert_int_equal(p.sport_mask, 0);
	assert_int_equal(p.dport, 8080);
	assert_int_equal(p.dport_mask, 0xffff);
	wr_free(&w);

	/* ports unknown (mask 0): proto only */
	k.proto = IPPROTO_TCP;
	k.sport_mask = k.dport_mask = 0;
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_int_equal(spmif_line_pkt((const char *)w.buf, w.len, &p), 0);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.sport_mask | p.dport_mask, 0);
	wr_free(&w);

	/* a wider selector (PF_KEY reporting the policy) is no packet */
	k.dst_plen = 24;
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_int_equal(w.len, 0);
	wr_free(&w);
	memset(&k, 0, sizeof(k));
	wr_init(&w, 0);
	spmif_put_pkt(&w, &k);
	assert_int_equal(w.len, 0);
	wr_free(&w);

	/* an ACQUIRE without a packet is fine: pkt.af == 0 */
	assert_int_equal(acq_parse("", &a), 0);
	assert_int_equal(a.pkt.af, 0);
	/* names are accepted for the protocol, as everywhere in spmif */
	assert_int_equal(acq_parse(" pkt_src=198.51.100.1 "
				   "pkt_dst=203.0.113.1 pkt_proto=udp "
				   "pkt_dport=500",
				   &a),
			 0);
	assert_int_equal(a.pkt.proto, IPPROTO_UDP);
	assert_int_equal(a.pkt.dport, 500);
	assert_int_equal(a.pkt.sport_mask, 0);
}

/* Malformed packet selectors reject the whole event. */
static void test_acquire_packet_bad(void **state)
{
	static const char *const bad[] = {
	    /* half a packet */
	    " pkt_src=198.51.100.1",
	    " pkt_dst=198.51.100.1",
	    " pkt_proto=17",
	    " pkt_sport=1 pkt_dport=2",
	    /* families differ */
	    " pkt_src=198.51.100.1 pkt_dst=2001:db8::1",
	    /* prefixes, garbage, empty, bad escapes */
	    " pkt_src=198.51.100.1/32 pkt_dst=203.0.113.1",
	    " pkt_src=198.51.100.1 pkt_dst=2001:db8::/64",
	    " pkt_src=198.51.100 pkt_dst=203.0.113.1",
	    " pkt_src=198.51.100.256 pkt_dst=203.0.113.1",
	    " pkt_src=host pkt_dst=203.0.113.1",
	    " pkt_src= pkt_dst=203.0.113.1",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1%",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1%00",
	    " pkt_src=198.51.100.1%zz pkt_dst=203.0.113.1",
	    /* repeated keys */
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 "
	    "pkt_src=198.51.100.2",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=6 "
	    "pkt_proto=6",
	    /* protocol: out of range, "any", junk */
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=256",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=0",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=any",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=-6",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=tcpx",
	    /* ports: without a protocol, out of range, not decimal */
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_dport=53",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_sport=65536",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_dport=99999999999999999999999",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_dport=0x35",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_dport=-1",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_dport=5+3",
	    " pkt_src=198.51.100.1 pkt_dst=203.0.113.1 pkt_proto=17 "
	    "pkt_sport=",
	};
	struct spmif_acquire a;
	struct ksel p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[SPMIF_LINE_MAX];

		snprintf(line, sizeof(line), "%s%s", ACQ_HEAD, bad[i]);
		if (spmif_acquire_parse(line, strlen(line), &a) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		/* the selector parser alone leaves nothing behind */
		assert_int_equal(spmif_line_pkt(line, strlen(line), &p),
				 -EBADMSG);
		assert_int_equal(p.af, 0);
	}
	/* look-alike keys are other keys, not the packet */
	assert_int_equal(acq_parse(" xpkt_src=1 pkt_srcx=2", &a), 0);
	assert_int_equal(a.pkt.af, 0);
}

static void test_line_get(void **state)
{
	char buf[16];
	const char *l = "250 a=1 b=%41 c=%4 d=x d=y e=0123456789abcdefg";

	(void)state;
	assert_int_equal(spmif_line_get(l, strlen(l), "a", buf, sizeof(buf)),
			 1);
	assert_string_equal(buf, "1");
	assert_int_equal(spmif_line_get(l, strlen(l), "b", buf, sizeof(buf)),
			 1);
	assert_string_equal(buf, "A");
	assert_int_equal(spmif_line_get(l, strlen(l), "z", buf, sizeof(buf)),
			 0);
	assert_int_equal(spmif_line_get(l, strlen(l), "c", buf, sizeof(buf)),
			 -EBADMSG);
	assert_int_equal(spmif_line_get(l, strlen(l), "d", buf, sizeof(buf)),
			 -EBADMSG);
	assert_int_equal(spmif_line_get(l, strlen(l), "e", buf, sizeof(buf)),
			 -EBADMSG);
}

static void test_policy_add_line(void **state)
{
	struct spmif_policy_req q;
	struct spmif_msg m;
	char line[SPMIF_LINE_MAX];
	const char *why;

	memset(&q, 0, sizeof(q));
	q.selector = "rw in";
	q.lifetime_sec = 30;
	q.mode = KMODE_TUNNEL;
	assert_int_equal(spmif_parse_addr("198.51.100.7", &q.sp_src), 0);
	assert_int_equal(spmif_parse_addr("203.0.113.0", &q.sp_dst), 0);
	q.sp_dst_plen = 24;
	assert_int_equal(spmif_parse_addr("198.51.100.7", &q.sa_src), 0);
	assert_int_equal(spmif_parse_addr("198.51.100.1", &q.sa_dst), 0);
	assert_int_equal(spmif_policy_add_line(&q, line, sizeof(line)), 0);
	assert_int_equal(parse(line, &m, &why), 0);
	assert_string_equal(m.verb, "POLICY");
	assert_string_equal(spmif_msg_get(&m, "selector"), "rw in");
	assert_string_equal(spmif_msg_get(&m, "src"), "198.51.100.7/32");
	assert_string_equal(spmif_msg_get(&m, "dst"), "203.0.113.0/24");
	assert_string_equal(spmif_msg_get(&m, "lifetime"), "30");
	assert_string_equal(spmif_msg_get(&m, "mode"), "tunnel");
	assert_null(spmif_msg_get(&m, "persist"));

	q.selector = NULL;
	assert_int_equal(spmif_policy_add_line(&q, line, sizeof(line)),
			 -EINVAL);
}

/* ---- client library against a scripted peer --------------------------- */

static int acq_count;

static void on_acq(struct spmif_client *c, const struct spmif_acquire *a,
		   void *arg)
{
	char b[INET6_ADDRSTRLEN];

	acq_count++;
	assert_string_equal(a->selector, "s1");
	/* the packet reaches the callback (RFC 7296 §2.9) */
	assert_int_equal(a->pkt.af, AF_INET);
	assert_string_equal(spmif_addr_str(&a->pkt.dst, b, sizeof(b)),
			    "10.0.0.2");
	assert_int_equal(a->pkt.proto, IPPROTO_UDP);
	assert_int_equal(a->pkt.dport, 4500);
}

static void test_client_call(void **state)
{
	struct spmif_callbacks cbs = {.acquire = on_acq};
	struct spmif_client *c;
	struct spmif_reply r;
	char buf[256];
	char path[] = "/tmp/spmif-test-XXXXXX";
	int lfd, fd;
	pid_t pid;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	/* a listening socket so that spmif_connect has a path */
	assert_non_null(mkdtemp(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	/* the banner is already queued when the client connects */
	c = spmif_client_new(&cbs, NULL);
	assert_non_null(c);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* scripted server */
		fd = accept(lfd, NULL, NULL);
		const char *banner = "220 spmd spmif/1 ready\n";
		(void)!write(fd, banner, strlen(banner));
		ssize_t n = read(fd, buf, sizeof(buf));
		(void)n;
		const char *rsp =
		    "600 ACQUIRE index=5 selector=s1 src=10.0.0.1/32 "
		    "dst=10.0.0.2/32 pkt_src=10.0.0.1 pkt_dst=10.0.0.2 "
		    "pkt_proto=17 pkt_sport=4500 pkt_dport=4500\n"
		    "250-line one\n"
		    "250-line two\n"
		    "250 done\n";
		(void)!write(fd, rsp, strlen(rsp));
		n = read(fd, buf, sizeof(buf)); /* wait for close */
		_exit(0);
	}
	assert_int_equal(spmif_connect(c, sun.sun_path, NULL), 0);
	acq_count = 0;
	assert_int_equal(spmif_call(c, "STATUS", 5000, &r), 0);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.text, "done");
	assert_int_equal(r.nlines, 2);
	assert_string_equal(r.lines[1], "line two");
	assert_int_equal(acq_count, 1);
	spmif_reply_free(&r);
	spmif_client_free(c);
	waitpid(pid, NULL, 0);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(path);
}

/*
 * Re-entrancy: an ACQUIRE handler makes a synchronous call (iked asks
 * spmd for a reqid) while more events sit behind it in the same read
 * and arrive during the call. Every event reaches the handler once, in
 * order, never inside the call; the connection survives (fc5f2c9: the
 * nested call drained the buffer under the outer loop).
 */
static char reent_seen[8][64];
static int reent_n, reent_depth, reent_maxdepth;

static void on_acq_reent(struct spmif_client *c, const struct spmif_acquire *a,
			 void *arg)
{
	struct spmif_reply r;

	(void)arg;
	if (reent_n < 8)
		snprintf(reent_seen[reent_n], sizeof(reent_seen[0]), "%s",
			 a->selector);
	reent_n++;
	if (++reent_depth > reent_maxdepth)
		reent_maxdepth = reent_depth;
	if (strcmp(a->selector, "s1") == 0) {
		assert_int_equal(spmif_call(c, "REQID selector=s1", 5000, &r),
				 0);
		assert_int_equal(r.code, 250);
		assert_string_equal(r.text, "reqid=7");
		spmif_reply_free(&r);
	}
	reent_depth--;
}

#define ACQ(sel)                                                               \
	"600 ACQUIRE index=5 selector=" sel " src=10.0.0.1/32 "                \
	"dst=10.0.0.2/32\n"

static void test_client_reentrant_call(void **state)
{
	struct spmif_callbacks cbs = {.acquire = on_acq_reent};
	struct spmif_client *c;
	struct ev_loop *loop;
	struct spmif_reply r;
	int sv[2];
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[512];
		/* two events in one write: the second waits in the buffer
		 * while the first one's handler calls */
		const char *ev = ACQ("s1") ACQ("s2");
		/* an event before the reply: read during the call */
		const char *rsp = ACQ("s3") "250 reqid=7\n";

		close(sv[0]);
		(void)!write(sv[1], ev, strlen(ev));
		if (read(sv[1], buf, sizeof(buf)) <= 0)
			_exit(1);
		(void)!write(sv[1], rsp, strlen(rsp));
		if (read(sv[1], buf, sizeof(buf)) <= 0)
			_exit(1);
		(void)!write(sv[1], "250 ok\n", 7);
		(void)!read(sv[1], buf, sizeof(buf)); /* wait for close */
		_exit(0);
	}
	close(sv[1]);
	loop = ev_new();
	assert_non_null(loop);
	c = spmif_client_new(&cbs, NULL);
	assert_non_null(c);
	assert_int_equal(spmif_connect_fd(c, sv[0]), 0);
	assert_int_equal(spmif_attach(c, loop), 0);
	reent_n = reent_depth = reent_maxdepth = 0;
	for (int i = 0; i < 100 && reent_n < 3; i++)
		assert_true(ev_run_once(loop, 100) >= 0);
	assert_int_equal(reent_n, 3);
	assert_string_equal(reent_seen[0], "s1");
	assert_string_equal(reent_seen[1], "s2");
	assert_string_equal(reent_seen[2], "s3");
	/* no handler ran inside another one */
	assert_int_equal(reent_maxdepth, 1);
	/* the connection is still in step */
	assert_int_equal(spmif_call(c, "STATUS", 5000, &r), 0);
	assert_int_equal(r.code, 250);
	spmif_reply_free(&r);
	spmif_client_free(c);
	ev_free(loop);
	waitpid(pid, NULL, 0);
}

/* Issue 9 defect 7: the spmd_password file gets the owner/mode check PSK
 * files get (read_file_secret): group/other access is refused. */
static void test_password_file_mode(void **state)
{
	char dir[] = "/tmp/r2pw.XXXXXX", path[64];
	char *pw = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(spmif_read_password(path, &pw, &len), -EPERM);
	assert_null(pw);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(spmif_read_password(path, &pw, &len), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(spmif_read_password(path, &pw, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(pw, "secret", 6);
	mem_wipe(pw, len);
	free(pw);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_codec_roundtrip),
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_acquire_roundtrip),
	    cmocka_unit_test(test_migrate_event),
	    cmocka_unit_test(test_acquire_packet),
	    cmocka_unit_test(test_acquire_packet_bad),
	    cmocka_unit_test(test_line_get),
	    cmocka_unit_test(test_policy_add_line),
	    cmocka_unit_test(test_client_call),
	    cmocka_unit_test(test_client_reentrant_call),
	    cmocka_unit_test(test_password_file_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
