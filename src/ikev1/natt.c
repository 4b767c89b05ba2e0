/*
 * natt.c - NAT traversal for IKEv1 (RFC 3947): the vendor ID in messages
 * 1 and 2, NAT-D payloads in messages 3 and 4 (§3.2: HASH(CKY-I | CKY-R
 * | IP | Port) with the negotiated hash; the first names the receiver,
 * the others the sender), and UDP-encapsulated tunnel mode in Quick Mode
 * once a NAT is seen (§5.1).  The caller owns the sockets: it floats to
 * port 4500 with the non-ESP marker when told (ikev1_out.float_4500).
 */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/socket.h>

#include "ikev1/ikev1_int.h"

static size_t addr_bytes(const struct sockaddr *sa, uint8_t out[18])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		memcpy(out, &s->sin_addr, 4);
		memcpy(out + 4, &s->sin_port, 2);
		return 6;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		memcpy(out, &s->sin6_addr, 16);
		memcpy(out + 16, &s->sin6_port, 2);
		return 18;
	}
	return 0;
}

int ikev1_sa_set_addrs(struct ikev1_sa *sa, const struct sockaddr *local,
		       const struct sockaddr *peer)
{
	size_t a = addr_bytes(local, sa->addr_local);
	size_t b = addr_bytes(peer, sa->addr_peer);

	if (!a || a != b)
		return -EINVAL;
	sa->addr_len = a;
	return 0;
}

bool ikev1_sa_natt(const struct ikev1_sa *sa)
{
	return natt_encap(sa) != ISAKMP_ENCAP_TUNNEL;
}

void natt_vids(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	if (!sa->conf->natt)
		return;
	for (int i = isakmp_msg_next(m, ISAKMP_NP_VID, -1); i >= 0;
	     i = isakmp_msg_next(m, ISAKMP_NP_VID, i))
		if (isakmp_vid_lookup(m->pl[i].body, m->pl[i].len) ==
		    ISAKMP_VID_RFC3947)
			sa->natt_vid = true;
}

void natt_put_vid(const struct ikev1_sa *sa, struct isakmp_wr *b)
{
	size_t len;
	const uint8_t *vid = isakmp_vid_bytes(ISAKMP_VID_RFC3947, &len);

	/* RFC 3947 §3.1: the initiator offers, the responder answers */
	if (sa->conf->natt && (sa->initiator || sa->natt_vid))
		isakmp_put_raw(b, ISAKMP_NP_VID, vid, len);
}

static int natd_hash(const struct ikev1_sa *sa, const uint8_t *addr,
		     uint8_t *out)
{
	const struct cbuf parts[] = {
	    {sa->cky_i, 8}, {sa->cky_r, 8}, {addr, sa->addr_len}};

	return ikev1_hash(sa->keys.prf, parts, 3, out);
}

int natt_put_natd(const struct ikev1_sa *sa, struct isakmp_wr *b)
{
	uint8_t h[CRYPTO_MAX_PRF_OUT];
	int rc;

	if (!sa->natt_vid || !sa->addr_len)
		return 0;
	/* RFC 3947 §3.2: the receiver's address first, then ours */
	rc = natd_hash(sa, sa->addr_peer, h);
	if (rc)
		return rc;
	if (sa->conf->natt_force)
		h[0] ^= 0xff; /* pretend the peer's address was rewritten */
	isakmp_put_raw(b, ISAKMP_NP_NATD, h, sa->keys.hlen);
	rc = natd_hash(sa, sa->addr_local, h);
	if (rc)
		return rc;
	isakmp_put_raw(b, ISAKMP_NP_NATD, h, sa->keys.hlen);
	return 0;
}

int natt_check_natd(struct ikev1_sa *sa, const struct isakmp_msg *m)
{
	uint8_t mine[CRYPTO_MAX_PRF_OUT], theirs[CRYPTO_MAX_PRF_OUT];
	int first = isakmp_msg_next(m, ISAKMP_NP_NATD, -1);
	bool seen_peer = false;
	int rc;

	if (!sa->natt_vid || !sa->addr_len)
		return 0;
	/* RFC 3947 §3.2: at least two NAT-D payloads */
	if (first < 0 || isakmp_msg_next(m, ISAKMP_NP_NATD, first) < 0)
		return -EBADMSG;
	rc = natd_hash(sa, sa->addr_local, mine);
	if (!rc)
		rc = natd_hash(sa, sa->addr_peer, theirs);
	if (rc)
		return rc;
	if (m->pl[first].len != sa->keys.hlen)
		return -EBADMSG;
	/* the first one is our address as the peer saw it */
	sa->nat_here =
	    CRYPTO_memcmp(m->pl[first].body, mine, sa->keys.hlen) != 0;
	for (int i = isakmp_msg_next(m, ISAKMP_NP_NATD, first); i >= 0;
	     i = isakmp_msg_next(m, ISAKMP_NP_NATD, i))
		if (m->pl[i].len == sa->keys.hlen &&
		    CRYPTO_memcmp(m->pl[i].body, theirs, sa->keys.hlen) == 0)
			seen_peer = true;
	sa->nat_there = !seen_peer;
	return 0;
}

bool ikev1_sa_nat_here(const struct ikev1_sa *sa)
{
	return sa && sa->natt_vid && sa->nat_here;
}

uint16_t natt_encap(const struct ikev1_sa *sa)
{
	/* RFC 3947 §5.1: UDP-Encapsulated-Tunnel = 3 */
	if (sa->natt_vid &&
	    (sa->nat_here || sa->nat_there || sa->conf->natt_force))
		return 3;
	return ISAKMP_ENCAP_TUNNEL;
}
