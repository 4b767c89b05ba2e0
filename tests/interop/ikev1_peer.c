/*
 * ikev1_peer.c - a minimal UDP driver of the IKEv1 engine (src/ikev1) for
 * tests/interop/ikev1_charon.sh, until iked dispatches IKEv1 itself: one
 * ISAKMP SA with a PSK, one Quick Mode, optionally Informational Deletes.
 * Prints what was negotiated (and the keys, for the capture checks):
 *   ESTABLISHED icookie=HEX rcookie=HEX enc=HEX
 *   CHILD spi_in=HEX spi_out=HEX key_in=HEX key_out=HEX
 *   DELETED esp spi=HEX | DELETED isakmp
 * Exit 0 when everything asked for happened, 1 otherwise.
 *
 * ikev1-peer init|resp LOCAL PEER PSK TS_LOCAL TS_REMOTE [options]
 *   --pfs GROUP    Quick Mode with PFS in GROUP
 *   --delete S     (init) S seconds after the CHILD SA: Delete it, then
 *                  the ISAKMP SA
 *   --wait-delete  (resp) after the CHILD SA: wait for the peer's Deletes
 *   --timeout S    give up after S seconds (default 30)
 *   --natt         offer/accept NAT-T (RFC 3947): after NAT detection the
 *                  exchange moves to port 4500 with the non-ESP marker
 *   --aggressive   (init) start with Aggressive Mode; (resp) accept it
 *   --auth M       rsa | ecdsa256 | ecdsa384 | ecdsa521: Main Mode with
 *                  signatures (RFC 2409 §5.1, RFC 4754) instead of PSK
 *   --cert F --key F --trust F   our certificate, its key, and the
 *                  peer's certificate or CA (PEM; peers_public_key)
 *   --id FQDN --peer-id FQDN     ID_FQDN IDs instead of the addresses
 *   --rekey S      (init) S seconds after the first CHILD SA: Phase 2
 *                  rekey (new Quick Mode, then Delete of the old SA)
 *   --reauth S     (init) S seconds after it: a new ISAKMP SA (Phase 1
 *                  re-authentication) with a Quick Mode, then Delete of
 *                  the old ISAKMP SA; a new ISAKMP SA from the peer is
 *                  accepted beside the old one in either role
 *   --initial-contact  INITIAL-CONTACT in our message 5
 * Also printed: REKEYED old=HEX new=HEX, REAUTHED, INITIAL-CONTACT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ikev1/ikev1.h"

static int sock = -1, sock4500 = -1;
static bool floated;
static struct sockaddr_in peer, peer4500;

static int getspi(void *arg, uint32_t *spi)
{
	(void)arg;
	if (crypto_random(spi, sizeof(*spi)) != 0)
		return -EIO;
	*spi = 0xc0000000u | (*spi & 0x00ffffffu);
	return 0;
}

static void hex(const char *tag, const uint8_t *p, size_t n)
{
	printf(" %s=", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void send_out(struct ikev1_out *o)
{
	uint8_t buf[65536 + 4] = {0};

	if (!o->pkt)
		return;
	if (o->float_4500)
		floated = true;
	if (!floated) {
		if (sendto(sock, o->pkt, o->len, 0, (struct sockaddr *)&peer,
			   sizeof(peer)) < 0)
			perror("sendto");
		return;
	}
	/* RFC 3947 §4: the non-ESP marker (4 zero octets) first */
	if (o->len > 65536)
		return;
	memcpy(buf + 4, o->pkt, o->len);
	if (sendto(sock4500, buf, o->len + 4, 0, (struct sockaddr *)&peer4500,
		   sizeof(peer4500)) < 0)
		perror("sendto 4500");
}

static int prefix(const char *s, struct isakmp_id *id)
{
	char buf[64];
	const char *sl = strchr(s, '/');
	unsigned plen = 32;
	struct in_addr a;

	snprintf(buf, sizeof(buf), "%.*s", sl ? (int)(sl - s) : (int)strlen(s),
		 s);
	if (sl)
		plen = (unsigned)atoi(sl + 1);
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	return isakmp_id_from_prefix(id, AF_INET, &a, plen, 0, 0);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

static void set_fqdn(uint8_t *type, uint8_t *buf, size_t *len, const char *s)
{
	*type = ISAKMP_ID_FQDN;
	*len = strlen(s) < IKEV1_MAX_ID ? strlen(s) : IKEV1_MAX_ID;
	memcpy(buf, s, *len);
}

int main(int argc, char **argv)
{
	struct ikev1_conf c;
	struct ikev1_sa *sa = NULL;
	struct sockaddr_in local;
	bool init, want_delete = false, wait_delete = false;
	bool established = false, child = false, del_esp = false;
	bool del_isakmp = false;
	struct ikev1_sa *old_sa = NULL;
	int rekey_at = -1, reauth_at = -1, n_child = 0;
	bool rekey_sent = false, reauth_sent = false;
	time_t first_child_at = 0;
	int timeout = 30, tries = 0, hold = 0;
	time_t child_at = 0;
	uint32_t child_spi_in = 0;
	time_t start = time(NULL), last_send = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: ikev1-peer init|resp LOCAL PEER PSK "
				"TS_LOCAL TS_REMOTE [--pfs G] [--delete S] "
				"[--wait-delete] [--timeout S]\n");
		return 2;
	}
	init = strcmp(argv[1], "init") == 0;
	memset(&c, 0, sizeof(c));
	memset(&local, 0, sizeof(local));
	memset(&peer, 0, sizeof(peer));
	local.sin_family = peer.sin_family = AF_INET;
	local.sin_port = peer.sin_port = htons(500);
	if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1 ||
	    prefix(argv[5], &c.ts_local) || prefix(argv[6], &c.ts_remote)) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	c.psk = (const uint8_t *)argv[4];
	c.psk_len = strlen(argv[4]);
	c.id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c.id, &local.sin_addr, 4);
	c.id_len = 4;
	c.peer_id_type = ISAKMP_ID_IPV4_ADDR;
	memcpy(c.peer_id, &peer.sin_addr, 4);
	c.peer_id_len = 4;
	c.p1[c.n_p1++] = (struct ikev1_p1_suite){
	    ISAKMP_P1_ENCR_AES_CBC, 128, ISAKMP_P1_HASH_SHA2_256, 14, 3600};
	c.p1[c.n_p1++] = (struct ikev1_p1_suite){ISAKMP_P1_ENCR_AES_CBC, 256,
						 ISAKMP_P1_HASH_SHA1, 14, 3600};
	c.p2[c.n_p2++] = (struct ikev1_p2_suite){
	    ISAKMP_ESP_AES_CBC, 128, ISAKMP_AUTH_HMAC_SHA2_256, 1200};
	c.p2[c.n_p2++] = (struct ikev1_p2_suite){ISAKMP_ESP_AES_CBC, 256,
						 ISAKMP_AUTH_HMAC_SHA1, 1200};
	c.getspi = getspi;
	for (int i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "--pfs") && i + 1 < argc)
			c.pfs_group = (uint16_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--delete") && i + 1 < argc) {
			want_delete = true;
			hold = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--wait-delete"))
			wait_delete = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--natt"))
			c.natt = true;
		else if (!strcmp(argv[i], "--aggressive"))
			c.aggressive = c.aggressive_initiate = true;
		else if (!strcmp(argv[i], "--auth") && i + 1 < argc) {
			const char *m = argv[++i];
			c.auth_method =
			    !strcmp(m, "rsa")	     ? ISAKMP_P1_AUTH_RSA_SIG
			    : !strcmp(m, "ecdsa256") ? ISAKMP_P1_AUTH_ECDSA_256
			    : !strcmp(m, "ecdsa384") ? ISAKMP_P1_AUTH_ECDSA_384
						     : ISAKMP_P1_AUTH_ECDSA_521;
			c.verify_id = c.send_certreq = true;
		} else if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
			if (!(c.cert = read_cert(argv[++i])))
				return 2;
		} else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			if (!(c.key = read_key(argv[++i])))
				return 2;
		} else if (!strcmp(argv[i], "--trust") && i + 1 < argc) {
			X509 *x = read_cert(argv[++i]);
			if (!x)
				return 2;
			c.peer_certs = sk_X509_new_null();
			sk_X509_push(c.peer_certs, x);
		} else if (!strcmp(argv[i], "--id") && i + 1 < argc)
			set_fqdn(&c.id_type, c.id, &c.id_len, argv[++i]);
		else if (!strcmp(argv[i], "--peer-id") && i + 1 < argc)
			set_fqdn(&c.peer_id_type, c.peer_id, &c.peer_id_len,
				 argv[++i]);
		else if (!strcmp(argv[i], "--rekey") && i + 1 < argc)
			rekey_at = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reauth") && i + 1 < argc)
			reauth_at = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--initial-contact"))
			c.initial_contact = true;
	}
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof(local))) {
		perror("socket/bind");
		return 1;
	}
	{
		struct sockaddr_in l4 = local;
		l4.sin_port = htons(4500);
		peer4500 = peer;
		peer4500.sin_port = htons(4500);
		sock4500 = socket(AF_INET, SOCK_DGRAM, 0);
		if (sock4500 < 0 ||
		    bind(sock4500, (struct sockaddr *)&l4, sizeof(l4))) {
			perror("socket/bind 4500");
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (init) {
		struct ikev1_out o;
		if (ikev1_sa_new_initiator(&c, &sa, &o) != 0 ||
		    ikev1_sa_set_addrs(sa, (struct sockaddr *)&local,
				       (struct sockaddr *)&peer) != 0)
			return 1;
		send_out(&o);
		ikev1_out_clear(&o);
		last_send = time(NULL);
	}
	while (time(NULL) - start < timeout) {
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
					{.fd = sock4500, .events = POLLIN}};
		uint8_t raw[65536 + 4], *buf = raw;
		struct ikev1_out o;
		ssize_t n;

		if (child && (!want_delete || del_isakmp) &&
		    (!wait_delete || del_isakmp))
			break;
		if (init && child && rekey_at >= 0 && !rekey_sent &&
		    time(NULL) - first_child_at >= rekey_at) {
			struct ikev1_out q;
			rekey_sent = true;
			if (ikev1_quick_rekey(sa, child_spi_in, &q) == 0) {
				send_out(&q);
				last_send = time(NULL);
			}
			ikev1_out_clear(&q);
			continue;
		}
		if (init && child && reauth_at >= 0 && !reauth_sent &&
		    time(NULL) - first_child_at >= reauth_at) {
			struct ikev1_out q;
			reauth_sent = true;
			c.initial_contact = false; /* not a restart */
			ikev1_sa_free(old_sa);
			old_sa = sa;
			sa = NULL;
			established = false;
			if (ikev1_sa_new_initiator(&c, &sa, &q) == 0 &&
			    ikev1_sa_set_addrs(sa, (struct sockaddr *)&local,
					       (struct sockaddr *)&peer) == 0) {
				send_out(&q);
				last_send = time(NULL);
			}
			ikev1_out_clear(&q);
			continue;
		}
		if (child && want_delete && !del_isakmp &&
		    (rekey_at < 0 || n_child >= 2) &&
		    (reauth_at < 0 || (reauth_sent && !old_sa)) &&
		    time(NULL) - child_at >= hold) {
			struct ikev1_out d;
			if (ikev1_delete(sa, child_spi_in, &d) == 0)
				send_out(&d);
			ikev1_out_clear(&d);
			sleep(1);
			if (ikev1_delete(sa, 0, &d) == 0)
				send_out(&d);
			ikev1_out_clear(&d);
			del_esp = del_isakmp = true;
			printf("SENT deletes\n");
			continue;
		}
		if (poll(pfd, 2, 500) <= 0) {
			/* retransmission, 2 s apart, 5 times */
			if (sa && time(NULL) - last_send >= 2 && tries < 5 &&
			    ikev1_retransmit(sa, &o) == 0) {
				send_out(&o);
				ikev1_out_clear(&o);
				last_send = time(NULL);
				tries++;
			}
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			n = recv(sock, raw, sizeof(raw), 0);
		} else {
			n = recv(sock4500, raw, sizeof(raw), 0);
			/* RFC 3947 §4 / RFC 3948 §2.2: IKE after the marker;
			 * anything else is ESP, not ours */
			if (n < 4 || raw[0] | raw[1] | raw[2] | raw[3])
				continue;
			buf = raw + 4;
			n -= 4;
		}
		if (n <= 0)
			continue;
		struct isakmp_msg hm;
		struct ikev1_sa *t = NULL;
		if (isakmp_msg_parse(buf, (size_t)n, &hm) != 0)
			continue;
		for (int k = 0; k < 2; k++) {
			struct ikev1_sa *s2 = k ? old_sa : sa;
			uint64_t ci, cr;
			if (!s2)
				continue;
			ikev1_sa_cookies(s2, &ci, &cr);
			if (ci == hm.hdr.icookie)
				t = s2;
		}
		if (!t && hm.hdr.rcookie == 0) {
			/* a new ISAKMP SA from the peer (the first, or its
			 * re-authentication) */
			struct ikev1_sa *ns = NULL;
			if (ikev1_sa_new_responder_at(
				&c, &hm, (struct sockaddr *)&local,
				(struct sockaddr *)&peer, &ns, &o) != 0) {
				fprintf(stderr, "first message refused\n");
				continue;
			}
			if (sa) {
				ikev1_sa_free(old_sa);
				old_sa = sa;
				established = false;
				printf("NEW ISAKMP SA from the peer\n");
			}
			sa = t = ns;
		} else if (!t || ikev1_input(t, buf, (size_t)n, &o) != 0) {
			fprintf(stderr, "message dropped\n");
			continue;
		}
		if (o.initial_contact)
			printf("INITIAL-CONTACT\n");
		send_out(&o);
		if (o.pkt) {
			last_send = time(NULL);
			tries = 0;
		}
		if (o.established && !established && t == sa) {
			uint64_t ci, cr;
			const struct ikev1_keys *k = ikev1_sa_keys(sa);
			established = true;
			ikev1_sa_cookies(sa, &ci, &cr);
			printf("ESTABLISHED icookie=%016llx rcookie=%016llx",
			       (unsigned long long)ci, (unsigned long long)cr);
			hex("enc", k->enc_key, k->keybits / 8u);
			printf(" prf=%u\n", k->prf);
			if (init) {
				struct ikev1_out q;
				ikev1_out_clear(&o);
				/* Aggressive Mode: charon handles datagrams on
				 * several threads and ignores a Quick Mode that
				 * overtakes message 3 (then our retransmission
				 * gets through, but tshark cannot decrypt the
				 * duplicate): give message 3 a head start */
				if (c.aggressive_initiate)
					usleep(300000);
				if (ikev1_quick_start(sa, &q) == 0) {
					send_out(&q);
					last_send = time(NULL);
				}
				ikev1_out_clear(&q);
				continue;
			}
		}
		if (o.child_ready) {
			child = true;
			child_at = time(NULL);
			if (!n_child++)
				first_child_at = child_at;
			if (o.child.replaces) {
				/* the rekeyed SA is up: the old one goes */
				struct ikev1_out d;
				if (ikev1_delete(t, o.child.replaces, &d) == 0)
					send_out(&d);
				ikev1_out_clear(&d);
				printf("REKEYED old=%08x new=%08x\n",
				       o.child.replaces, o.child.spi_in);
			}
			if (init && old_sa && t == sa) {
				/* re-authenticated: the old ISAKMP SA goes */
				struct ikev1_out d;
				if (ikev1_delete(old_sa, 0, &d) == 0)
					send_out(&d);
				ikev1_out_clear(&d);
				ikev1_sa_free(old_sa);
				old_sa = NULL;
				printf("REAUTHED\n");
			}
			child_spi_in = o.child.spi_in;
			printf("CHILD spi_in=%08x spi_out=%08x", o.child.spi_in,
			       o.child.spi_out);
			hex("key_in", o.child.key_in, o.child.keylen);
			hex("key_out", o.child.key_out, o.child.keylen);
			printf(" pfs=%d udp_encap=%d\n", o.child.pfs,
			       o.child.udp_encap);
		}
		if (o.deleted_proto == ISAKMP_PROTO_ESP) {
			del_esp = true;
			printf("DELETED esp spi=%08x\n", o.deleted_spi);
		} else if (o.deleted_proto == ISAKMP_PROTO_ISAKMP) {
			printf("DELETED isakmp%s\n", t == sa ? "" : " (old)");
			if (t == sa)
				del_isakmp = true;
			else {
				ikev1_sa_free(old_sa);
				old_sa = NULL;
			}
		}
		ikev1_out_clear(&o);
	}
	(void)del_esp;
	ikev1_sa_free(sa);
	ikev1_sa_free(old_sa);
	X509_free(c.cert);
	EVP_PKEY_free(c.key);
	sk_X509_pop_free(c.peer_certs, X509_free);
	close(sock);
	close(sock4500);
	return child && (!want_delete || del_isakmp) &&
		       (!wait_delete || del_isakmp)
		   ? 0
		   : 1;
}
