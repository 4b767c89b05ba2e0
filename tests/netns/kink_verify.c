/*
 * kink_verify.c - an independent check of captured KINK messages: with
 * the responder's keytab, recover the session key from the CREATE's
 * AP_REQ (plain krb5_rd_req, no kinkd code), then verify the Cksum
 * (usage 40) and decrypt KINK_ENCRYPT (usage 39) of the CREATE and of
 * each REPLY given.  Its own minimal parsing of the KINK framing (RFC
 * 4430 §5.1, §5.2), not src/kink.
 * Usage: kink-verify KEYTAB SERVER_PRINCIPAL CREATE_HEX [REPLY_HEX...]
 * (run with KRB5RCACHETYPE=none and KRB5_CONFIG set).  Prints PASS/FAIL.
 */
#include <krb5/krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails;

static void result(int ok, const char *what, int i)
{
	printf("%s: kink-verify message %d: %s\n", ok ? "PASS" : "FAIL", i,
	       what);
	if (!ok)
		fails++;
}

static size_t unhex(const char *h, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (h[0] && h[1] && n < max && sscanf(h, "%2x", &v) == 1) {
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return n;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Find payload type t in the outer chain; body/len out. */
static int find_pl(const unsigned char *m, size_t covered, int t,
		   const unsigned char **body, size_t *len)
{
	size_t off = 16;
	int np = m[12];

	while (np && off + 4 <= covered) {
		size_t l = get16(m + off + 2);
		if (l < 4 || off + l > covered)
			return -1;
		if (np == t) {
			*body = m + off + 4;
			*len = l - 4;
			return 0;
		}
		np = m[off];
		off += (l + 3) & ~(size_t)3;
	}
	return -1;
}

static void check(krb5_context ctx, krb5_keyblock *key, unsigned char *m,
		  size_t n, int i)
{
	size_t len = get16(m + 2), ck = get16(m + 14), covered = len - ck;
	const unsigned char *enc;
	size_t enc_len;
	krb5_checksum mine;
	krb5_data d;
	krb5_enc_data ct;
	krb5_data pt;

	if (len != n || ck == 0 || ck > len - 16) {
		result(0, "framing", i);
		return;
	}
	/* §5.1: the Cksum covers the message with Length = covered and
	 * CksumLen = 0 */
	unsigned char *c = malloc(covered);
	memcpy(c, m, covered);
	c[2] = (unsigned char)(covered >> 8);
	c[3] = (unsigned char)covered;
	c[14] = c[15] = 0;
	d.data = (char *)c;
	d.length = (unsigned)covered;
	memset(&mine, 0, sizeof(mine));
	if (krb5_c_make_checksum(ctx, 0, key, 40, &d, &mine) == 0)
		result(mine.length == ck &&
			   !memcmp(mine.contents, m + covered, ck),
		       "Cksum verifies (usage 40)", i);
	else
		result(0, "make_checksum", i);
	krb5_free_checksum_contents(ctx, &mine);
	free(c);
	if (find_pl(m, covered, 7, &enc, &enc_len) < 0) {
		printf("# message %d has no KINK_ENCRYPT\n", i);
		return;
	}
	memset(&ct, 0, sizeof(ct));
	ct.enctype = key->enctype;
	ct.ciphertext.data = (char *)enc + 0;
	ct.ciphertext.length = (unsigned)enc_len;
	pt.length = (unsigned)enc_len;
	pt.data = malloc(enc_len);
	if (krb5_c_decrypt(ctx, key, 39, NULL, &ct, &pt) == 0 &&
	    pt.length >= 12) {
		const unsigned char *p = (const unsigned char *)pt.data;
		/* InnerNextPload = KINK_ISAKMP, its QMVersion 1.0 */
		result(p[0] == 6 && p[4 + 5] == 0x10,
		       "KINK_ENCRYPT decrypts (usage 39) to KINK_ISAKMP v1.0",
		       i);
	} else {
		result(0, "KINK_ENCRYPT decrypts (usage 39)", i);
	}
	free(pt.data);
}

int main(int argc, char **argv)
{
	static unsigned char m[65536];
	krb5_context ctx;
	krb5_keytab kt;
	krb5_principal server;
	krb5_auth_context ac = NULL;
	krb5_ticket *tkt = NULL;
	krb5_keyblock *key = NULL;
	krb5_data req;
	const unsigned char *ap;
	size_t n, ap_len;

	if (argc < 4)
		return 2;
	if (krb5_init_context(&ctx) || krb5_kt_resolve(ctx, argv[1], &kt) ||
	    krb5_parse_name(ctx, argv[2], &server))
		return 2;
	n = unhex(argv[3], m, sizeof(m));
	if (n < 16 || find_pl(m, n - get16(m + 14), 1, &ap, &ap_len) < 0 ||
	    ap_len < 5) {
		result(0, "CREATE with AP_REQ", 1);
		return 1;
	}
	req.data = (char *)ap + 4; /* after EPOCH */
	req.length = (unsigned)(ap_len - 4);
	if (krb5_rd_req(ctx, &ac, &req, server, kt, NULL, &tkt)) {
		result(0, "AP_REQ opens with the keytab", 1);
		return 1;
	}
	krb5_copy_keyblock(ctx, tkt->enc_part2->session, &key);
	printf("# session key enctype %d, %u octets\n", key->enctype,
	       key->length);
	result(1, "session key recovered from the keytab", 1);
	check(ctx, key, m, n, 1);
	for (int i = 4; i < argc; i++) {
		n = unhex(argv[i], m, sizeof(m));
		check(ctx, key, m, n, i - 2);
	}
	krb5_free_keyblock(ctx, key);
	krb5_free_ticket(ctx, tkt);
	krb5_auth_con_free(ctx, ac);
	krb5_free_principal(ctx, server);
	krb5_kt_close(ctx, kt);
	krb5_free_context(ctx);
	return fails ? 1 : 0;
}
