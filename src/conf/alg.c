/*
 * alg.c - the algorithm table of racoon2.conf and small name tables.
 *
 * One row per algorithm name: the racoon2 spelling (or our modern one),
 * the slots it may be written in, and its IKEv2 transform IDs (RFC 7296
 * §3.3.2 and the IANA IKEv2 registry; ESP and AH share the ENCR and
 * INTEG numbering).  Everything here is static, read-only data.
 */
#include <string.h>

#include "conf/conf.h"
#include "crypto/xform.h"

#define KE CONF_SLOT_KMP_ENC
#define KP CONF_SLOT_KMP_PRF
#define KH CONF_SLOT_KMP_HASH
#define KD CONF_SLOT_KMP_DH
#define EE CONF_SLOT_ESP_ENC
#define EA CONF_SLOT_ESP_AUTH
#define AA CONF_SLOT_AH_AUTH
#define IC CONF_SLOT_IPCOMP

#define AEAD CONF_ALGF_AEAD
#define V1   CONF_ALGF_V1_ONLY
#define V1H  CONF_ALGF_V1_HASH
#define LEG  CONF_ALGF_LEGACY
#define NI   CONF_ALGF_NOT_IMPL

/* alg, name, alias, slots, flags, encr, prf, integ, dh, ipcomp, bits, icv */
static const struct conf_alg_info algs[] = {
    {CONF_ALG_NONE, "none", NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    /* ENCR, RFC 7296 §3.3.2 transform type 1 */
    {CONF_ALG_DES_CBC_IV64, "des_cbc_iv64", NULL, KE | EE, LEG | NI,
     IKEV2_ENCR_DES_IV64, 0, 0, 0, 0, 64, 0},
    {CONF_ALG_DES_CBC, "des_cbc", NULL, KE | EE, LEG, IKEV2_ENCR_DES, 0, 0, 0,
     0, 64, 0},
    {CONF_ALG_3DES_CBC, "3des_cbc", "3des", KE | EE, LEG, IKEV2_ENCR_3DES, 0, 0,
     0, 0, 192, 0},
    {CONF_ALG_RC5_CBC, "rc5_cbc", NULL, KE | EE, NI, IKEV2_ENCR_RC5, 0, 0, 0, 0,
     128, 0},
    {CONF_ALG_IDEA_CBC, "idea_cbc", NULL, KE | EE, NI, IKEV2_ENCR_IDEA, 0, 0, 0,
     0, 128, 0},
    {CONF_ALG_CAST128_CBC, "cast128_cbc", NULL, KE | EE, NI, IKEV2_ENCR_CAST, 0,
     0, 0, 0, 128, 0},
    {CONF_ALG_BLOWFISH_CBC, "blowfish_cbc", NULL, KE | EE, NI,
     IKEV2_ENCR_BLOWFISH, 0, 0, 0, 0, 128, 0},
    {CONF_ALG_3IDEA_CBC, "3idea_cbc", NULL, KE | EE, NI, IKEV2_ENCR_3IDEA, 0, 0,
     0, 0, 0, 0},
    {CONF_ALG_DES_CBC_IV32, "des_cbc_iv32", NULL, KE | EE, LEG | NI,
     IKEV2_ENCR_DES_IV32, 0, 0, 0, 0, 64, 0},
    {CONF_ALG_RC4_CBC, "rc4_cbc", NULL, KE | EE, V1 | NI, 0, 0, 0, 0, 0, 128,
     0},
    {CONF_ALG_NULL_ENC, "null_enc", "null", EE, 0, IKEV2_ENCR_NULL, 0, 0, 0, 0,
     0, 0},
    {CONF_ALG_RIJNDAEL_CBC, "rijndael_cbc", NULL, KE | EE, 0,
     IKEV2_ENCR_AES_CBC, 0, 0, 0, 0, 128, 0},
    {CONF_ALG_AES128_CBC, "aes128_cbc", "aes128", KE | EE, 0,
     IKEV2_ENCR_AES_CBC, 0, 0, 0, 0, 128, 0},
    {CONF_ALG_AES192_CBC, "aes192_cbc", "aes192", KE | EE, 0,
     IKEV2_ENCR_AES_CBC, 0, 0, 0, 0, 192, 0},
    {CONF_ALG_AES256_CBC, "aes256_cbc", "aes256", KE | EE, 0,
     IKEV2_ENCR_AES_CBC, 0, 0, 0, 0, 256, 0},
    {CONF_ALG_AES_CTR, "aes_ctr", NULL, KE | EE, 0, IKEV2_ENCR_AES_CTR, 0, 0, 0,
     0, 128, 0},
    {CONF_ALG_TWOFISH_CBC, "twofish_cbc", NULL, KE | EE, V1 | NI, 0, 0, 0, 0, 0,
     128, 0},
    {CONF_ALG_AES128_CTR, "aes128_ctr", "aes128ctr", KE | EE, 0,
     IKEV2_ENCR_AES_CTR, 0, 0, 0, 0, 128, 0},
    {CONF_ALG_AES192_CTR, "aes192_ctr", "aes192ctr", KE | EE, 0,
     IKEV2_ENCR_AES_CTR, 0, 0, 0, 0, 192, 0},
    {CONF_ALG_AES256_CTR, "aes256_ctr", "aes256ctr", KE | EE, 0,
     IKEV2_ENCR_AES_CTR, 0, 0, 0, 0, 256, 0},
    /* AEAD: RFC 5282 (IKEv2), RFC 4106 (ESP), RFC 7634 (ChaCha20) */
    {CONF_ALG_AES128_GCM8, "aes128_gcm8", "aes128gcm8", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_8, 0, 0, 0, 0, 128, 8},
    {CONF_ALG_AES192_GCM8, "aes192_gcm8", "aes192gcm8", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_8, 0, 0, 0, 0, 192, 8},
    {CONF_ALG_AES256_GCM8, "aes256_gcm8", "aes256gcm8", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_8, 0, 0, 0, 0, 256, 8},
    {CONF_ALG_AES128_GCM12, "aes128_gcm12", "aes128gcm12", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_12, 0, 0, 0, 0, 128, 12},
    {CONF_ALG_AES192_GCM12, "aes192_gcm12", "aes192gcm12", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_12, 0, 0, 0, 0, 192, 12},
    {CONF_ALG_AES256_GCM12, "aes256_gcm12", "aes256gcm12", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_12, 0, 0, 0, 0, 256, 12},
    {CONF_ALG_AES128_GCM16, "aes128_gcm16", "aes128gcm16", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_16, 0, 0, 0, 0, 128, 16},
    {CONF_ALG_AES192_GCM16, "aes192_gcm16", "aes192gcm16", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_16, 0, 0, 0, 0, 192, 16},
    {CONF_ALG_AES256_GCM16, "aes256_gcm16", "aes256gcm16", KE | EE, AEAD,
     IKEV2_ENCR_AES_GCM_16, 0, 0, 0, 0, 256, 16},
    {CONF_ALG_CHACHA20_POLY1305, "chacha20_poly1305", "chacha20poly1305",
     KE | EE, AEAD, IKEV2_ENCR_CHACHA20_POLY1305, 0, 0, 0, 0, 256, 16},
    /* PRF (type 2) and INTEG (type 3) */
    {CONF_ALG_NON_AUTH, "non_auth", NULL, EA, 0, 0, 0, 0, 0, 0, 0, 0},
    {CONF_ALG_HMAC_MD5, "hmac_md5", NULL, KP | KH | EA | AA, LEG, 0,
     IKEV2_PRF_HMAC_MD5, IKEV2_INTEG_HMAC_MD5_96, 0, 0, 0, 12},
    {CONF_ALG_HMAC_SHA1, "hmac_sha1", NULL, KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_HMAC_SHA1, IKEV2_INTEG_HMAC_SHA1_96, 0, 0, 0, 12},
    {CONF_ALG_HMAC_SHA2_256, "hmac_sha2_256", "sha256", KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_HMAC_SHA2_256_128, 0, 0, 0, 16},
    {CONF_ALG_HMAC_SHA2_384, "hmac_sha2_384", "sha384", KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_HMAC_SHA2_384, IKEV2_INTEG_HMAC_SHA2_384_192, 0, 0, 0, 24},
    {CONF_ALG_HMAC_SHA2_512, "hmac_sha2_512", "sha512", KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_HMAC_SHA2_512, IKEV2_INTEG_HMAC_SHA2_512_256, 0, 0, 0, 32},
    {CONF_ALG_AES_XCBC, "aes_xcbc", "aesxcbc", KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_AES128_XCBC, IKEV2_INTEG_AES_XCBC_96, 0, 0, 0, 12},
    {CONF_ALG_DES_MAC, "des_mac", NULL, KP | KH, LEG | NI, 0, 0,
     IKEV2_INTEG_DES_MAC, 0, 0, 0, 0},
    {CONF_ALG_AES_CMAC, "aes_cmac", "aescmac", KP | KH | EA | AA, 0, 0,
     IKEV2_PRF_AES128_CMAC, IKEV2_INTEG_AES_CMAC_96, 0, 0, 0, 12},
    {CONF_ALG_KPDK_MD5, "kpdk_md5", NULL, KP | KH | EA | AA, LEG | NI, 0, 0,
     IKEV2_INTEG_KPDK_MD5, 0, 0, 0, 0},
    /* IKEv1 hash algorithms (kmp_hash_alg in ikev1 {}) */
    {CONF_ALG_MD5, "md5", NULL, KH, V1H | LEG, 0, 0, 0, 0, 0, 0, 0},
    {CONF_ALG_SHA1, "sha1", NULL, KH, V1H, 0, 0, 0, 0, 0, 0, 0},
    {CONF_ALG_TIGER, "tiger", NULL, KH, V1H | NI, 0, 0, 0, 0, 0, 0, 0},
    {CONF_ALG_SHA2_256, "sha2_256", NULL, KH, V1H, 0, 0,
     IKEV2_INTEG_HMAC_SHA2_256_128, 0, 0, 0, 16},
    {CONF_ALG_SHA2_384, "sha2_384", NULL, KH, V1H, 0, 0,
     IKEV2_INTEG_HMAC_SHA2_384_192, 0, 0, 0, 24},
    {CONF_ALG_SHA2_512, "sha2_512", NULL, KH, V1H, 0, 0,
     IKEV2_INTEG_HMAC_SHA2_512_256, 0, 0, 0, 32},
    /* IPComp, RFC 7296 §3.10.1 IPCOMP_SUPPORTED transform IDs */
    {CONF_ALG_OUI, "oui", NULL, IC, NI, 0, 0, 0, 0, IKEV2_IPCOMP_OUI, 0, 0},
    {CONF_ALG_DEFLATE, "deflate", NULL, IC, 0, 0, 0, 0, 0, IKEV2_IPCOMP_DEFLATE,
     0, 0},
    {CONF_ALG_LZS, "lzs", NULL, IC, NI, 0, 0, 0, 0, IKEV2_IPCOMP_LZS, 0, 0},
    /* D-H groups (type 4) */
    {CONF_ALG_MODP768, "modp768", NULL, KD, LEG, 0, 0, 0, IKEV2_DH_MODP768, 0,
     0, 0},
    {CONF_ALG_MODP1024, "modp1024", NULL, KD, LEG, 0, 0, 0, IKEV2_DH_MODP1024,
     0, 0, 0},
    {CONF_ALG_EC2N155, "ec2n155", NULL, KD, V1 | NI, 0, 0, 0, IKEV2_DH_EC2N155,
     0, 0, 0},
    {CONF_ALG_EC2N185, "ec2n185", NULL, KD, V1 | NI, 0, 0, 0, IKEV2_DH_EC2N185,
     0, 0, 0},
    {CONF_ALG_MODP1536, "modp1536", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP1536, 0,
     0, 0},
    {CONF_ALG_MODP2048, "modp2048", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP2048, 0,
     0, 0},
    {CONF_ALG_MODP3072, "modp3072", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP3072, 0,
     0, 0},
    {CONF_ALG_MODP4096, "modp4096", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP4096, 0,
     0, 0},
    {CONF_ALG_MODP6144, "modp6144", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP6144, 0,
     0, 0},
    {CONF_ALG_MODP8192, "modp8192", NULL, KD, 0, 0, 0, 0, IKEV2_DH_MODP8192, 0,
     0, 0},
    {CONF_ALG_ECP256, "ecp256", NULL, KD, 0, 0, 0, 0, IKEV2_DH_ECP256, 0, 0, 0},
    {CONF_ALG_ECP384, "ecp384", NULL, KD, 0, 0, 0, 0, IKEV2_DH_ECP384, 0, 0, 0},
    {CONF_ALG_ECP521, "ecp521", NULL, KD, 0, 0, 0, 0, IKEV2_DH_ECP521, 0, 0, 0},
    {CONF_ALG_CURVE25519, "curve25519", "x25519", KD, 0, 0, 0, 0,
     IKEV2_DH_CURVE25519, 0, 0, 0},
    {CONF_ALG_CURVE448, "curve448", "x448", KD, 0, 0, 0, 0, IKEV2_DH_CURVE448,
     0, 0, 0},
};

_Static_assert(sizeof(algs) / sizeof(algs[0]) == CONF_ALG_COUNT,
	       "one algorithm row per enum value, in enum order");

const struct conf_alg_info *conf_alg_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 1; i < CONF_ALG_COUNT; i++) {
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
		if (algs[i].alias && strcmp(algs[i].alias, name) == 0)
			return &algs[i];
	}
	return NULL;
}

const struct conf_alg_info *conf_alg_info(enum conf_alg alg)
{
	if ((unsigned)alg >= CONF_ALG_COUNT)
		return NULL;
	return &algs[alg];
}

const char *conf_alg_name(enum conf_alg alg)
{
	const struct conf_alg_info *a = conf_alg_info(alg);
	return a ? a->name : "unknown";
}

const struct conf_alg_info *conf_alg_by_dh_group(unsigned group)
{
	if (group == 0)
		return NULL;
	for (size_t i = 1; i < CONF_ALG_COUNT; i++)
		if ((algs[i].slots & CONF_SLOT_KMP_DH) &&
		    algs[i].dh_id == group)
			return &algs[i];
	return NULL;
}

static const char *const auth_names[] = {
    [CONF_AUTH_NONE] = "none",
    [CONF_AUTH_PSK] = "psk",
    [CONF_AUTH_DSS] = "dss",
    [CONF_AUTH_RSASIG] = "rsasig",
    [CONF_AUTH_RSAENC] = "rsaenc",
    [CONF_AUTH_RSAREV] = "rsarev",
    [CONF_AUTH_GSSAPI_KRB] = "gssapi_krb",
    [CONF_AUTH_ECDSA256] = "ecdsa256",
    [CONF_AUTH_ECDSA384] = "ecdsa384",
    [CONF_AUTH_ECDSA521] = "ecdsa521",
    [CONF_AUTH_DIGSIG] = "digital_signature",
};

const char *conf_auth_method_name(enum conf_auth_method m)
{
	if ((unsigned)m >= sizeof(auth_names) / sizeof(auth_names[0]))
		return "unknown";
	return auth_names[m];
}

static const char *const script_names[CONF_SCRIPT_COUNT] = {
    [CONF_SCRIPT_PHASE1_UP] = "phase1_up",
    [CONF_SCRIPT_PHASE1_DOWN] = "phase1_down",
    [CONF_SCRIPT_PHASE1_REKEY] = "phase1_rekey",
    [CONF_SCRIPT_PHASE2_UP] = "phase2_up",
    [CONF_SCRIPT_PHASE2_DOWN] = "phase2_down",
    [CONF_SCRIPT_PHASE2_REKEY] = "phase2_rekey",
    [CONF_SCRIPT_MIGRATION] = "migration",
};

const char *conf_script_name(enum conf_script s)
{
	if ((unsigned)s >= CONF_SCRIPT_COUNT)
		return "unknown";
	return script_names[s];
}

const char *conf_kmp_name(enum conf_kmp k)
{
	switch (k) {
	case CONF_KMP_IKEV2:
		return "ikev2";
	case CONF_KMP_IKEV1:
		return "ikev1";
	case CONF_KMP_KINK:
		return "kink";
	default:
		return "none";
	}
}

const char *conf_kernel_backend(enum conf_kernel k)
{
	switch (k) {
	case CONF_KERNEL_XFRM:
		return "xfrm";
	case CONF_KERNEL_PFKEY:
		return "pfkey";
	case CONF_KERNEL_USERSPACE:
		return "userspace";
	default: /* no `kernel` line: XFRM, as racoon2's samples expect */
		return "xfrm";
	}
}
