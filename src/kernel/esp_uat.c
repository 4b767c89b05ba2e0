/*
 * esp_uat.c - Wireshark esp_sa UAT lines, shared by iked's and kinkd's
 * opt-in key export (see esp_uat.h).  Keys are never kept here.
 */
#include "kernel/esp_uat.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "lib/util.h"

FILE *esp_uat_open(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return NULL;
	fchmod(fd, 0600);
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

/* Wireshark's esp_sa UAT names the algorithms with these strings. */
const char *esp_uat_encr(uint16_t id)
{
	switch (id) {
	case IKEV2_ENCR_3DES:
		return "TripleDES-CBC [RFC2451]";
	case IKEV2_ENCR_AES_CBC:
		return "AES-CBC [RFC3602]";
	case IKEV2_ENCR_AES_CTR:
		return "AES-CTR [RFC3686]";
	case IKEV2_ENCR_AES_GCM_8:
		return "AES-GCM with 8 octet ICV [RFC4106]";
	case IKEV2_ENCR_AES_GCM_12:
		return "AES-GCM with 12 octet ICV [RFC4106]";
	case IKEV2_ENCR_AES_GCM_16:
		return "AES-GCM with 16 octet ICV [RFC4106]";
	case IKEV2_ENCR_CHACHA20_POLY1305:
		return "ChaCha20 with Poly1305 [RFC7634]";
	}
	return "NULL";
}

const char *esp_uat_auth(uint16_t id)
{
	switch (id) {
	case IKEV2_INTEG_HMAC_SHA1_96:
		return "HMAC-SHA-1-96 [RFC2404]";
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return "HMAC-SHA-256-128 [RFC4868]";
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return "HMAC-SHA-384-192 [RFC4868]";
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return "HMAC-SHA-512-256 [RFC4868]";
	case IKEV2_INTEG_HMAC_MD5_96:
		return "HMAC-MD5-96 [RFC2403]";
	case IKEV2_INTEG_AES_XCBC_96:
		return "MAC-AES-XCBC-96 [RFC3566]";
	}
	return "NULL";
}

void esp_uat_line(FILE *f, const struct kaddr *src, const struct kaddr *dst,
		  uint32_t spi, uint16_t encr_id, const uint8_t *enc_key,
		  size_t enc_len, uint16_t integ_id, const uint8_t *auth_key,
		  size_t auth_len)
{
	char a[64], b[64];

	fprintf(f, "\"%s\",\"%s\",\"%s\",\"0x%08x\",\"%s\",\"0x",
		src->af == AF_INET6 ? "IPv6" : "IPv4",
		kaddr_str(src, a, sizeof(a)), kaddr_str(dst, b, sizeof(b)), spi,
		esp_uat_encr(encr_id));
	hex_fput(f, enc_key, enc_len);
	fprintf(f, "\",\"%s\",\"0x", esp_uat_auth(integ_id));
	hex_fput(f, auth_key, auth_len);
	fprintf(f, "\"\n");
	fflush(f);
}

void esp_uat_ksa(FILE *f, const struct ksa *sa)
{
	if (f)
		esp_uat_line(f, &sa->src, &sa->dst, sa->spi, sa->encr_id,
			     sa->enc_key, sa->enc_key_len, sa->integ_id,
			     sa->auth_key, sa->auth_key_len);
}
