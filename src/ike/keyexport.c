/*
 * keyexport.c - opt-in export of every SA's keys for Wireshark.
 *
 * With `iked -K DIR` each IKE SA adds a line to DIR/ikev2_decryption_table
 * (IKEv1: each ISAKMP SA a line to DIR/ikev1_decryption_table, v1.c)
 * and each CHILD SA two lines (one per direction) to DIR/esp_sa, in the
 * formats of Wireshark's UAT files of those names (an AH CHILD SA to
 * DIR/ah_sa in esp_sa's format with encryption "NULL": Wireshark 4.0
 * neither has an AH SA table nor checks AH ICVs, tests/lib/ahcheck.py
 * does, and an AH SPI in esp_sa would claim an ESP SA), so that pointing
 * Wireshark's configuration directory at DIR (or copying the files into
 * ~/.config/wireshark) decrypts a capture:
 *   SPIi,SPIr,SK_ei,SK_er,"encr",SK_ai,SK_ar,"integ"         (hex, unquoted)
 *   "IPv4","src","dst","0xSPI","encr","0xkey","auth","0xkey"
 * Both files are created mode 0600 (the directory 0700 if we create it)
 * and a warning is logged at start.
 * Ownership: iked owns the FILEs; keys are never kept here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ike/iked.h"
#include "kernel/esp_uat.h"
#include "lib/log.h"
#include "lib/util.h"

#define MOD "ike"

int keyexport_open(struct iked *d, const char *path)
{
	/* esp_uat_open() makes the directory (0700) */
	d->keyexport = esp_uat_open(path, "ikev2_decryption_table");
	if (!d->keyexport)
		return -errno;
	d->keyexport_esp = esp_uat_open(path, "esp_sa");
	d->keyexport_ah = esp_uat_open(path, "ah_sa");
	/* IKEv1 (v1.c): "icookie","Phase 1 encryption key" */
	d->keyexport_v1 = esp_uat_open(path, "ikev1_decryption_table");
	if (!d->keyexport_esp || !d->keyexport_ah || !d->keyexport_v1) {
		int e = errno;
		keyexport_close(d);
		return -e;
	}
	snprintf(d->keyexport_path, sizeof(d->keyexport_path), "%s", path);
	log_warn(MOD,
		 "KEY EXPORT IS ON: every IKE and ESP key is written to "
		 "%s; anyone who reads it can decrypt the traffic",
		 path);
	return 0;
}

void keyexport_close(struct iked *d)
{
	if (d->keyexport)
		fclose(d->keyexport);
	if (d->keyexport_esp)
		fclose(d->keyexport_esp);
	if (d->keyexport_v1)
		fclose(d->keyexport_v1);
	if (d->keyexport_ah)
		fclose(d->keyexport_ah);
	d->keyexport = d->keyexport_esp = d->keyexport_v1 = NULL;
	d->keyexport_ah = NULL;
}

/* Wireshark's IKEv2 UAT names the algorithms with these strings. */
static const char *ws_ike_encr(uint16_t id, uint16_t bits)
{
	switch (id) {
	case IKEV2_ENCR_3DES:
		return "3DES [RFC2451]";
	case IKEV2_ENCR_AES_CBC:
		return bits == 256   ? "AES-CBC-256 [RFC3602]"
		       : bits == 192 ? "AES-CBC-192 [RFC3602]"
				     : "AES-CBC-128 [RFC3602]";
	case IKEV2_ENCR_AES_CTR:
		return bits == 256   ? "AES-CTR-256 [RFC5930]"
		       : bits == 192 ? "AES-CTR-192 [RFC5930]"
				     : "AES-CTR-128 [RFC5930]";
	case IKEV2_ENCR_AES_GCM_8:
		return bits == 256   ? "AES-GCM-256 with 8 octet ICV [RFC5282]"
		       : bits == 192 ? "AES-GCM-192 with 8 octet ICV [RFC5282]"
				     : "AES-GCM-128 with 8 octet ICV [RFC5282]";
	case IKEV2_ENCR_AES_GCM_12:
		return bits == 256 ? "AES-GCM-256 with 12 octet ICV [RFC5282]"
		       : bits == 192
			   ? "AES-GCM-192 with 12 octet ICV [RFC5282]"
			   : "AES-GCM-128 with 12 octet ICV [RFC5282]";
	case IKEV2_ENCR_AES_GCM_16:
		return bits == 256 ? "AES-GCM-256 with 16 octet ICV [RFC5282]"
		       : bits == 192
			   ? "AES-GCM-192 with 16 octet ICV [RFC5282]"
			   : "AES-GCM-128 with 16 octet ICV [RFC5282]";
	case IKEV2_ENCR_CHACHA20_POLY1305:
		return "ChaCha20-Poly1305 [RFC7634]";
	}
	return "NULL [RFC2410]";
}

static const char *ws_ike_integ(uint16_t id)
{
	switch (id) {
	case IKEV2_INTEG_HMAC_MD5_96:
		return "HMAC_MD5_96 [RFC2403]";
	case IKEV2_INTEG_HMAC_SHA1_96:
		return "HMAC_SHA1_96 [RFC2404]";
	case IKEV2_INTEG_AES_XCBC_96:
		return "AES-XCBC-96 [RFC3566]";
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return "HMAC_SHA2_256_128 [RFC4868]";
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return "HMAC_SHA2_384_192 [RFC4868]";
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return "HMAC_SHA2_512_256 [RFC4868]";
	}
	return "NONE [RFC4306]";
}

void keyexport_ike(struct iked *d, const struct ike_sa *sa,
		   const struct ikev2_sa_keys *k)
{
	FILE *f = d->keyexport;

	if (!f)
		return;
	fprintf(f, "%016llx,%016llx,", (unsigned long long)sa->spi_i,
		(unsigned long long)sa->spi_r);
	hex_fput(f, k->sk_ei, k->encr_len);
	fprintf(f, ",");
	hex_fput(f, k->sk_er, k->encr_len);
	fprintf(f, ",\"%s\",",
		ws_ike_encr(sa->algs.encr, sa->algs.encr_keybits));
	hex_fput(f, k->sk_ai, k->integ_len);
	fprintf(f, ",");
	hex_fput(f, k->sk_ar, k->integ_len);
	fprintf(f, ",\"%s\"\n", ws_ike_integ(sa->algs.integ));
	fflush(f);
}

void keyexport_child(struct iked *d, const struct child_sa *c,
		     const uint8_t *kin, const uint8_t *kout, size_t enc_len,
		     size_t integ_len)
{
	FILE *f = c->proto == IPPROTO_AH ? d->keyexport_ah : d->keyexport_esp;
	const struct ike_sa *sa = c->ike;

	if (!f)
		return;
	/* the format is shared with kinkd (kernel/esp_uat.c) */
	esp_uat_line(f, &sa->peer.addr, &sa->local.addr, c->spi_in,
		     c->algs.encr, kin, enc_len, c->algs.integ, kin + enc_len,
		     integ_len);
	esp_uat_line(f, &sa->local.addr, &sa->peer.addr, c->spi_out,
		     c->algs.encr, kout, enc_len, c->algs.integ, kout + enc_len,
		     integ_len);
}
