/*
 * xform.h - the one registry of IKEv2 transform IDs (RFC 7296 §3.3.2 and
 * the IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registry,
 * as OpenBSD's ikev2.h keeps them in one place).  ESP and AH share the
 * ENCR and INTEG numbering, so the crypto layer, the kernel backends,
 * the userspace ESP engine and the configuration all name algorithms by
 * these constants.  Header only: no code, nothing to link.
 */
#ifndef RACOON_XFORM_H
#define RACOON_XFORM_H

/* Transform types. */
#define IKEV2_XF_ENCR  1
#define IKEV2_XF_PRF   2
#define IKEV2_XF_INTEG 3
#define IKEV2_XF_DH    4
#define IKEV2_XF_ESN   5

/* Transform type 1: encryption algorithms. */
#define IKEV2_ENCR_DES_IV64	      1 /* legacy, not implemented */
#define IKEV2_ENCR_DES		      2 /* legacy, not implemented */
#define IKEV2_ENCR_3DES		      3
#define IKEV2_ENCR_RC5		      4	 /* not implemented */
#define IKEV2_ENCR_IDEA		      5	 /* not implemented */
#define IKEV2_ENCR_CAST		      6	 /* not implemented */
#define IKEV2_ENCR_BLOWFISH	      7	 /* not implemented */
#define IKEV2_ENCR_3IDEA	      8	 /* not implemented */
#define IKEV2_ENCR_DES_IV32	      9	 /* legacy, not implemented */
#define IKEV2_ENCR_NULL		      11 /* RFC 2410: ESP only */
#define IKEV2_ENCR_AES_CBC	      12
#define IKEV2_ENCR_AES_CTR	      13 /* RFC 3686 */
#define IKEV2_ENCR_AES_CCM_8	      14 /* RFC 4309 */
#define IKEV2_ENCR_AES_CCM_12	      15
#define IKEV2_ENCR_AES_CCM_16	      16
#define IKEV2_ENCR_AES_GCM_8	      18 /* RFC 4106 */
#define IKEV2_ENCR_AES_GCM_12	      19
#define IKEV2_ENCR_AES_GCM_16	      20
#define IKEV2_ENCR_NULL_AUTH_AES_GMAC 21 /* RFC 4543 */
#define IKEV2_ENCR_CHACHA20_POLY1305  28 /* RFC 7634 */

/* Transform type 2: pseudorandom functions. */
#define IKEV2_PRF_HMAC_MD5	1
#define IKEV2_PRF_HMAC_SHA1	2
#define IKEV2_PRF_HMAC_TIGER	3 /* not implemented */
#define IKEV2_PRF_AES128_XCBC	4
#define IKEV2_PRF_HMAC_SHA2_256 5
#define IKEV2_PRF_HMAC_SHA2_384 6
#define IKEV2_PRF_HMAC_SHA2_512 7
#define IKEV2_PRF_AES128_CMAC	8

/* Transform type 3: integrity algorithms. */
#define IKEV2_INTEG_NONE	      0
#define IKEV2_INTEG_HMAC_MD5_96	      1
#define IKEV2_INTEG_HMAC_SHA1_96      2
#define IKEV2_INTEG_DES_MAC	      3 /* not implemented */
#define IKEV2_INTEG_KPDK_MD5	      4 /* not implemented */
#define IKEV2_INTEG_AES_XCBC_96	      5
#define IKEV2_INTEG_AES_CMAC_96	      8
#define IKEV2_INTEG_HMAC_SHA2_256_128 12
#define IKEV2_INTEG_HMAC_SHA2_384_192 13
#define IKEV2_INTEG_HMAC_SHA2_512_256 14

/* Transform type 4: key exchange (DH) groups. */
#define IKEV2_DH_NONE	    0
#define IKEV2_DH_MODP768    1
#define IKEV2_DH_MODP1024   2
#define IKEV2_DH_EC2N155    3 /* IKEv1 only (reserved in IKEv2) */
#define IKEV2_DH_EC2N185    4 /* IKEv1 only (reserved in IKEv2) */
#define IKEV2_DH_MODP1536   5
#define IKEV2_DH_MODP2048   14
#define IKEV2_DH_MODP3072   15
#define IKEV2_DH_MODP4096   16
#define IKEV2_DH_MODP6144   17
#define IKEV2_DH_MODP8192   18
#define IKEV2_DH_ECP256	    19
#define IKEV2_DH_ECP384	    20
#define IKEV2_DH_ECP521	    21
#define IKEV2_DH_CURVE25519 31
#define IKEV2_DH_CURVE448   32

/* Transform type 5: extended sequence numbers. */
#define IKEV2_ESN_NO  0
#define IKEV2_ESN_YES 1

/* IPCOMP transform IDs (RFC 7296 §3.10.1, IPCOMP_SUPPORTED). */
#define IKEV2_IPCOMP_OUI     1
#define IKEV2_IPCOMP_DEFLATE 2
#define IKEV2_IPCOMP_LZS     3

#endif
