/*
 * krb.c - kinkd's Kerberos layer over MIT krb5; see krb.h.
 */
#include "kink/krb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krb5/krb5.h>
#include <openssl/crypto.h>

#include "kink/kink_msg.h"
#include "lib/util.h"

struct kink_krb {
	krb5_context ctx;
	krb5_principal me;
	krb5_keytab kt;
	krb5_ccache cc;
	bool have_tgt;
	krb5_timestamp tgt_end;
	/* User-to-User (RFC 4430 §4.3): no keytab entry for our principal,
	 * only the TGT in KRB5CCNAME; tickets to us are encrypted in its
	 * session key */
	bool u2u;
	krb5_creds tgt; /* u2u: that TGT, loaded by u2u_tgt() */
	bool tgt_loaded;
	char errbuf[256];
};

struct kink_auth {
	struct kink_krb *k;
	krb5_auth_context ac;
	krb5_keyblock *key; /* the ticket's session key (no subkey) */
};

/* KINK_KRB_ERR() keeps 30 bits of a krb5 code in a negative int; the
 * whole code of the last failure is kept here (kinkd is one thread). */
static _Thread_local krb5_error_code last_code;

static int kerr(krb5_error_code c)
{
	last_code = c;
	return KINK_KRB_ERR(c);
}

const char *kink_krb_strerror(struct kink_krb *k, int err)
{
	if (err < 0 && err > -4096)
		return strerror(-err);
	if (k && last_code) {
		const char *m = krb5_get_error_message(k->ctx, last_code);
		snprintf(k->errbuf, sizeof(k->errbuf), "%s", m);
		krb5_free_error_message(k->ctx, m);
		return k->errbuf;
	}
	return "Kerberos error";
}

static long code_of(int err)
{
	return last_code && err == KINK_KRB_ERR(last_code) ? (long)last_code
							   : 0;
}

long kink_krb_code(int err)
{
	return code_of(err);
}

int kink_krb_new(struct kink_krb **out, const char *my_principal)
{
	struct kink_krb *k = calloc(1, sizeof(*k));
	krb5_error_code c;
	const char *ccname = getenv("KRB5CCNAME");

	if (!k)
		return -ENOMEM;
	/* krb5_init_context reads KRB5_CONFIG */
	if ((c = krb5_init_context(&k->ctx)))
		goto fail_free;
	if ((c = krb5_parse_name(k->ctx, my_principal, &k->me)))
		goto fail_ctx;
	/* KRB5_KTNAME or the profile's default_keytab_name */
	if ((c = krb5_kt_default(k->ctx, &k->kt)))
		goto fail_me;
	if (ccname && *ccname)
		c = krb5_cc_default(k->ctx, &k->cc);
	else
		c = krb5_cc_new_unique(k->ctx, "MEMORY", NULL, &k->cc);
	if (c)
		goto fail_kt;
	/* RFC 4430 §4.3: a host without a keytab entry for its principal
	 * but with a TGT for it in KRB5CCNAME (kinit) works User-to-User;
	 * that ccache is kept, not re-initialised */
	if (ccname && *ccname) {
		krb5_keytab_entry e;
		krb5_principal ccp = NULL;
		if (krb5_kt_get_entry(k->ctx, k->kt, k->me, 0, 0, &e) == 0) {
			krb5_free_keytab_entry_contents(k->ctx, &e);
		} else if (krb5_cc_get_principal(k->ctx, k->cc, &ccp) == 0) {
			k->u2u = krb5_principal_compare(k->ctx, ccp, k->me);
			krb5_free_principal(k->ctx, ccp);
		}
	}
	if (!k->u2u && (c = krb5_cc_initialize(k->ctx, k->cc, k->me)))
		goto fail_cc;
	*out = k;
	return 0;
fail_cc:
	krb5_cc_close(k->ctx, k->cc);
fail_kt:
	krb5_kt_close(k->ctx, k->kt);
fail_me:
	krb5_free_principal(k->ctx, k->me);
fail_ctx:
	krb5_free_context(k->ctx);
fail_free:
	free(k);
	last_code = c;
	return KINK_KRB_ERR(c);
}

void kink_krb_free(struct kink_krb *k)
{
	if (!k)
		return;
	if (k->tgt_loaded)
		krb5_free_cred_contents(k->ctx, &k->tgt);
	krb5_cc_close(k->ctx, k->cc);
	krb5_kt_close(k->ctx, k->kt);
	krb5_free_principal(k->ctx, k->me);
	krb5_free_context(k->ctx);
	free(k);
}

void kink_krb_flush(struct kink_krb *k)
{
	if (k->u2u)
		return; /* the ccache holds the TGT we cannot get again */
	krb5_cc_initialize(k->ctx, k->cc, k->me);
	k->have_tgt = false;
}

bool kink_krb_is_u2u(const struct kink_krb *k)
{
	return k->u2u;
}

/* Our TGT (krbtgt/REALM@REALM) as held in the ccache: after get_tgt()
 * with a keytab, or as kinit left it (u2u).  Cached in k->tgt. */
static int load_tgt(struct kink_krb *k)
{
	krb5_creds m;
	krb5_principal tgs = NULL;
	krb5_timestamp now;
	krb5_error_code c;
	const krb5_data *realm = krb5_princ_realm(k->ctx, k->me);

	if (k->tgt_loaded && krb5_timeofday(k->ctx, &now) == 0 &&
	    now + 60 < k->tgt.times.endtime)
		return 0;
	if (k->tgt_loaded) {
		krb5_free_cred_contents(k->ctx, &k->tgt);
		k->tgt_loaded = false;
	}
	if ((c = krb5_build_principal_ext(
		 k->ctx, &tgs, realm->length, realm->data, KRB5_TGS_NAME_SIZE,
		 KRB5_TGS_NAME, realm->length, realm->data, 0)))
		return kerr(c);
	memset(&m, 0, sizeof(m));
	m.client = k->me;
	m.server = tgs;
	c = krb5_cc_retrieve_cred(k->ctx, k->cc, 0, &m, &k->tgt);
	krb5_free_principal(k->ctx, tgs);
	if (c)
		return kerr(c);
	k->tgt_loaded = true;
	if (krb5_timeofday(k->ctx, &now) == 0 && now >= k->tgt.times.endtime)
		return kerr(KRB5KRB_AP_ERR_TKT_EXPIRED);
	return 0;
}

int kink_krb_set_time(struct kink_krb *k, time_t stime)
{
	krb5_error_code c =
	    krb5_set_real_time(k->ctx, (krb5_timestamp)stime, 0);

	/* tickets keep their absolute times: no need to refetch them */
	return c ? kerr(c) : 0;
}

/* RFC 4120 §3.1: the TGT, from our own keytab entry. */
static int get_tgt(struct kink_krb *k)
{
	krb5_creds creds;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_timestamp now;
	krb5_error_code c;

	if (k->u2u)
		return load_tgt(k); /* kinit's; we cannot renew it */
	if (k->have_tgt && krb5_timeofday(k->ctx, &now) == 0 &&
	    now + 60 < k->tgt_end)
		return 0;
	memset(&creds, 0, sizeof(creds));
	if ((c = krb5_get_init_creds_opt_alloc(k->ctx, &opt)))
		return kerr(c);
	c = krb5_get_init_creds_keytab(k->ctx, &creds, k->me, k->kt, 0, NULL,
				       opt);
	krb5_get_init_creds_opt_free(k->ctx, opt);
	if (c)
		return kerr(c);
	c = krb5_cc_initialize(k->ctx, k->cc, k->me);
	if (!c)
		c = krb5_cc_store_cred(k->ctx, k->cc, &creds);
	if (!c) {
		k->have_tgt = true;
		k->tgt_end = creds.times.endtime;
	}
	krb5_free_cred_contents(k->ctx, &creds);
	return c ? kerr(c) : 0;
}

static struct kink_auth *auth_new(struct kink_krb *k)
{
	struct kink_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->k = k;
	if (krb5_auth_con_init(k->ctx, &a->ac)) {
		free(a);
		return NULL;
	}
	return a;
}

void kink_auth_free(struct kink_auth *a)
{
	if (!a)
		return;
	if (a->key)
		krb5_free_keyblock(a->k->ctx, a->key); /* zeroes the key */
	krb5_auth_con_free(a->k->ctx, a->ac);
	free(a);
}

static int copy_out(const krb5_data *d, uint8_t **out, size_t *len)
{
	*out = malloc(d->length ? d->length : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, d->data, d->length);
	*len = d->length;
	return 0;
}

static int mk_req(struct kink_krb *k, const char *peer_principal,
		  const uint8_t *peer_tgt, size_t tgt_len,
		  struct kink_auth **out, uint8_t **ap_req, size_t *len)
{
	krb5_creds in, *creds = NULL;
	krb5_principal server = NULL;
	krb5_data req = {0};
	struct kink_auth *a;
	krb5_error_code c;
	krb5_flags gc = 0, ap = AP_OPTS_MUTUAL_REQUIRED;
	int err;

	if ((err = get_tgt(k)))
		return err;
	if ((c = krb5_parse_name(k->ctx, peer_principal, &server)))
		return kerr(c);
	memset(&in, 0, sizeof(in));
	in.client = k->me;
	in.server = server;
	if (peer_tgt) {
		/* RFC 4120 §2.9.2 (ENC-TKT-IN-SKEY), RFC 4430 §4.3: a
		 * ticket encrypted in the session key of the peer's TGT;
		 * the KDC checks that TGT's client is the server we name */
		in.second_ticket.data = (char *)peer_tgt;
		in.second_ticket.length = (unsigned)tgt_len;
		gc = KRB5_GC_USER_USER;
		ap |= AP_OPTS_USE_SESSION_KEY;
	}
	/* RFC 4120 §3.3: service ticket (cached in k->cc) */
	c = krb5_get_credentials(k->ctx, gc, k->cc, &in, &creds);
	krb5_free_principal(k->ctx, server);
	if (c)
		return kerr(c);
	a = auth_new(k);
	if (!a) {
		krb5_free_creds(k->ctx, creds);
		return -ENOMEM;
	}
	/* RFC 4430 §3.1: mutual authentication (AP_REP in the REPLY) */
	c = krb5_mk_req_extended(k->ctx, &a->ac, ap, NULL, creds, &req);
	if (!c)
		c = krb5_copy_keyblock(k->ctx, &creds->keyblock, &a->key);
	krb5_free_creds(k->ctx, creds);
	if (c) {
		kink_auth_free(a);
		return kerr(c);
	}
	err = copy_out(&req, ap_req, len);
	krb5_free_data_contents(k->ctx, &req);
	if (err) {
		kink_auth_free(a);
		return err;
	}
	*out = a;
	return 0;
}

int kink_krb_mk_req(struct kink_krb *k, const char *peer_principal,
		    struct kink_auth **out, uint8_t **ap_req, size_t *len)
{
	return mk_req(k, peer_principal, NULL, 0, out, ap_req, len);
}

int kink_krb_mk_req_u2u(struct kink_krb *k, const char *peer_principal,
			const uint8_t *peer_tgt, size_t tgt_len,
			struct kink_auth **out, uint8_t **ap_req, size_t *len)
{
	if (!peer_tgt || !tgt_len || tgt_len > 0xffff)
		return -EINVAL;
	return mk_req(k, peer_principal, peer_tgt, tgt_len, out, ap_req, len);
}

int kink_krb_my_tgt(struct kink_krb *k, uint8_t **der, size_t *len)
{
	int err;

	if ((err = get_tgt(k)) || (err = load_tgt(k)))
		return err;
	return copy_out(&k->tgt.ticket, der, len);
}

int kink_krb_rd_rep(struct kink_krb *k, struct kink_auth *a,
		    const uint8_t *ap_rep, size_t len)
{
	krb5_data d = {.length = (unsigned)len, .data = (char *)ap_rep};
	krb5_ap_rep_enc_part *rep = NULL;
	krb5_error_code c;

	if (len > 0xffff)
		return -EMSGSIZE;
	c = krb5_rd_rep(k->ctx, a->ac, &d, &rep);
	if (c)
		return kerr(c);
	krb5_free_ap_rep_enc_part(k->ctx, rep);
	return 0;
}

int kink_krb_rd_req(struct kink_krb *k, const uint8_t *ap_req, size_t len,
		    struct kink_auth **out, char *client, size_t client_len)
{
	krb5_data d = {.length = (unsigned)len, .data = (char *)ap_req};
	krb5_ticket *tkt = NULL;
	krb5_rcache rc = NULL;
	krb5_flags opts = 0;
	struct kink_auth *a;
	krb5_error_code c;
	char *name = NULL;

	if (len > 0xffff)
		return -EMSGSIZE;
	a = auth_new(k);
	if (!a)
		return -ENOMEM;
	/* RFC 4120 §3.2.3: replay detection (KRB5RCACHEDIR/KRB5RCACHENAME) */
	c = krb5_get_server_rcache(k->ctx,
				   krb5_princ_component(k->ctx, k->me, 0), &rc);
	if (!c)
		c = krb5_auth_con_setrcache(k->ctx, a->ac, rc);
	/* u2u (RFC 4430 §4.3): the ticket is encrypted in our TGT's
	 * session key, not in a keytab key */
	if (!c && k->u2u)
		c = load_tgt(k) ? KRB5_KT_NOTFOUND
				: krb5_auth_con_setuseruserkey(
				      k->ctx, a->ac, &k->tgt.keyblock);
	if (!c)
		c = krb5_rd_req(k->ctx, &a->ac, &d, k->me, k->kt, &opts, &tkt);
	/* a ticket in our long-term key, which we do not have: tell the
	 * initiator to come back User-to-User (GETTGT) */
	if (c && k->u2u &&
	    (c == KRB5KRB_AP_ERR_BAD_INTEGRITY ||
	     c == KRB5KRB_AP_ERR_MODIFIED || c == KRB5_KT_NOTFOUND ||
	     c == ENOENT))
		c = KRB5KRB_AP_ERR_USER_TO_USER_REQUIRED;
	if (!c && !(opts & AP_OPTS_MUTUAL_REQUIRED))
		c = KRB5KDC_ERR_BADOPTION; /* RFC 4430 §3.1: mutual */
	if (!c)
		c = krb5_copy_keyblock(k->ctx, tkt->enc_part2->session,
				       &a->key);
	if (!c && client)
		c = krb5_unparse_name(k->ctx, tkt->enc_part2->client, &name);
	if (tkt)
		krb5_free_ticket(k->ctx, tkt);
	if (c) {
		kink_auth_free(a);
		return kerr(c);
	}
	if (client) {
		snprintf(client, client_len, "%s", name);
		krb5_free_unparsed_name(k->ctx, name);
	}
	*out = a;
	return 0;
}

int kink_krb_mk_rep(struct kink_krb *k, struct kink_auth *a, uint8_t **ap_rep,
		    size_t *len)
{
	krb5_data d = {0};
	krb5_error_code c;
	int err;

	if ((c = krb5_mk_rep(k->ctx, a->ac, &d)))
		return kerr(c);
	err = copy_out(&d, ap_rep, len);
	krb5_free_data_contents(k->ctx, &d);
	return err;
}

int kink_krb_mk_error(struct kink_krb *k, int error, uint8_t **out, size_t *len)
{
	krb5_error e;
	krb5_data d = {0};
	krb5_error_code c, code = (krb5_error_code)code_of(error);
	int32_t usec;
	int err;

	memset(&e, 0, sizeof(e));
	if (!code)
		code = KRB5KRB_AP_ERR_MSG_TYPE;
	/* RFC 4120 §5.9.1: error-code is the krb5 code minus its base */
	e.error = (krb5_ui_4)(code - ERROR_TABLE_BASE_krb5);
	if (e.error > 127)
		e.error = KRB5KRB_ERR_GENERIC - ERROR_TABLE_BASE_krb5;
	if ((c = krb5_us_timeofday(k->ctx, &e.stime, &usec)))
		return kerr(c);
	e.susec = usec;
	e.server = k->me;
	if ((c = krb5_mk_error(k->ctx, &e, &d)))
		return kerr(c);
	err = copy_out(&d, out, len);
	krb5_free_data_contents(k->ctx, &d);
	return err;
}

int kink_krb_rd_error(struct kink_krb *k, const uint8_t *p, size_t len,
		      long *code, time_t *stime)
{
	krb5_data d = {.length = (unsigned)len, .data = (char *)p};
	krb5_error *e = NULL;
	krb5_error_code c;

	if (len > 0xffff)
		return -EMSGSIZE;
	if ((c = krb5_rd_error(k->ctx, &d, &e)))
		return kerr(c);
	*code = (long)e->error + ERROR_TABLE_BASE_krb5;
	*stime = (time_t)e->stime;
	krb5_free_error(k->ctx, e);
	return 0;
}

int kink_auth_encrypt(struct kink_auth *a, const uint8_t *in, size_t len,
		      uint8_t **out, size_t *out_len)
{
	krb5_data pt = {.length = (unsigned)len, .data = (char *)in};
	krb5_enc_data ct;
	size_t n = 0;
	krb5_error_code c;

	if (len > 0xffff)
		return -EMSGSIZE;
	if ((c = krb5_c_encrypt_length(a->k->ctx, a->key->enctype, len, &n)))
		return kerr(c);
	memset(&ct, 0, sizeof(ct));
	ct.ciphertext.length = (unsigned)n;
	ct.ciphertext.data = malloc(n ? n : 1);
	if (!ct.ciphertext.data)
		return -ENOMEM;
	/* RFC 4430 §5.2.8: key usage 39 */
	c = krb5_c_encrypt(a->k->ctx, a->key, KINK_KU_ENCRYPT, NULL, &pt, &ct);
	if (c) {
		free(ct.ciphertext.data);
		return kerr(c);
	}
	*out = (uint8_t *)ct.ciphertext.data;
	*out_len = ct.ciphertext.length;
	return 0;
}

int kink_auth_decrypt(struct kink_auth *a, const uint8_t *in, size_t len,
		      uint8_t **out, size_t *out_len)
{
	krb5_enc_data ct;
	krb5_data pt;
	krb5_error_code c;

	if (len > 0xffff)
		return -EMSGSIZE;
	memset(&ct, 0, sizeof(ct));
	ct.enctype = a->key->enctype;
	ct.ciphertext.length = (unsigned)len;
	ct.ciphertext.data = (char *)in;
	pt.length = (unsigned)len;
	pt.data = malloc(len ? len : 1);
	if (!pt.data)
		return -ENOMEM;
	c = krb5_c_decrypt(a->k->ctx, a->key, KINK_KU_ENCRYPT, NULL, &ct, &pt);
	if (c) {
		mem_wipe(pt.data, len);
		free(pt.data);
		return kerr(c);
	}
	*out = (uint8_t *)pt.data;
	*out_len = pt.length;
	return 0;
}

/* RFC 4430 §5.1: the mandatory keyed checksum of the session key's
 * enctype, key usage 40. */
int kink_auth_mic(struct kink_auth *a, const uint8_t *in, size_t len,
		  uint8_t **out, size_t *out_len)
{
	krb5_data d = {.length = (unsigned)len, .data = (char *)in};
	krb5_checksum ck;
	krb5_error_code c;
	int err;

	if (len > 0xffff)
		return -EMSGSIZE;
	memset(&ck, 0, sizeof(ck));
	c = krb5_c_make_checksum(a->k->ctx, 0, a->key, KINK_KU_CKSUM, &d, &ck);
	if (c)
		return kerr(c);
	if (!krb5_c_is_keyed_cksum(ck.checksum_type)) {
		krb5_free_checksum_contents(a->k->ctx, &ck);
		return -EPROTO;
	}
	{
		krb5_data o = {.length = ck.length,
			       .data = (char *)ck.contents};
		err = copy_out(&o, out, out_len);
	}
	krb5_free_checksum_contents(a->k->ctx, &ck);
	return err;
}

int kink_auth_verify_mic(struct kink_auth *a, const uint8_t *in, size_t len,
			 const uint8_t *mic, size_t mic_len)
{
	uint8_t *mine = NULL;
	size_t n = 0;
	int err;

	/* recompute with the enctype's mandatory type and compare in
	 * constant time: a peer cannot pick a weaker checksum type */
	err = kink_auth_mic(a, in, len, &mine, &n);
	if (err)
		return err;
	if (n != mic_len || CRYPTO_memcmp(mine, mic, n) != 0)
		err = -EBADMSG;
	mem_wipe(mine, n);
	free(mine);
	return err;
}

int kink_auth_prf_plus(struct kink_auth *a, const uint8_t *seed,
		       size_t seed_len, uint8_t *out, size_t out_len)
{
	krb5_context ctx = a->k->ctx;
	size_t plen = 0, done = 0, blen;
	krb5_error_code c;
	uint8_t *buf, *prev = NULL;
	krb5_data in, o;

	if ((c = krb5_c_prf_length(ctx, a->key->enctype, &plen)))
		return kerr(c);
	if (plen == 0 || plen > 256 || seed_len > 0xffff)
		return -EINVAL;
	blen = plen + seed_len;
	buf = malloc(blen + plen);
	if (!buf)
		return -ENOMEM;
	o.data = (char *)buf + blen;
	o.length = (unsigned)plen;
	while (done < out_len) {
		size_t n = 0;
		/* K1 = prf(seed); Kn = prf(Kn-1 | seed) (RFC 2409 §5.5) */
		if (prev) {
			memcpy(buf, prev, plen);
			n = plen;
		}
		memcpy(buf + n, seed, seed_len);
		in.data = (char *)buf;
		in.length = (unsigned)(n + seed_len);
		if ((c = krb5_c_prf(ctx, a->key, &in, &o))) {
			mem_wipe(buf, blen + plen);
			free(buf);
			return kerr(c);
		}
		size_t take = out_len - done < plen ? out_len - done : plen;
		memcpy(out + done, o.data, take);
		done += take;
		prev = (uint8_t *)o.data;
		/* prev is copied to buf[0..plen) before the next prf */
	}
	mem_wipe(buf, blen + plen);
	free(buf);
	return 0;
}

int kink_auth_enctype(const struct kink_auth *a)
{
	return a->key ? a->key->enctype : 0;
}

int kink_auth_key(const struct kink_auth *a, const uint8_t **key, size_t *len)
{
	if (!a->key)
		return -ENOENT;
	*key = a->key->contents;
	*len = a->key->length;
	return 0;
}
