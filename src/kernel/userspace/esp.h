/*
 * esp.h - the ESP engine: RFC 4303 encapsulation and decapsulation of one
 * packet with one SA, anti-replay with ESN, lifetimes and counters.
 *
 * The engine is pure: it knows nothing about sockets, TUN devices or
 * policies, so it is unit-tested and fuzzed on its own.  It works on the
 * ESP header and what follows (SPI .. ICV); the caller adds or strips the
 * outer IP header and, for RFC 3948, the UDP header.  In tunnel mode the
 * caller passes a whole inner IP packet (next header 4 or 41), in
 * transport mode an upper-layer payload; the engine does not care.
 *
 * Memory: struct esp_sa is owned by the caller (embedded in the data
 * plane's SAD entry).  esp_sa_init() copies the keys it needs into OpenSSL
 * contexts created once per SA; esp_sa_free() frees them and wipes the SA.
 * Packets are never allocated: encap/decap write into caller buffers.
 *
 * Crypto: OpenSSL 3 EVP used directly (the IKE crypto wrapper is for
 * IKE's PRF/keymat and has no ESP framing); AEAD contexts keep their key
 * and only get a new nonce per packet, HMAC contexts are re-initialised
 * with the stored key (EVP_MAC_init with a NULL key).
 */
#ifndef RACOON_ESP_H
#define RACOON_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/xform.h" /* IKEV2_ENCR_*, IKEV2_INTEG_* */
#include "kernel/kernel.h"

#define ESP_REPLAY_DEFAULT 64
#define ESP_REPLAY_MAX	   4096

/* Worst-case growth of a packet: SPI+seq (8) + IV (16) + pad (<=15 for
 * the 16-byte block ciphers, we never add extra TFC padding) + 2 + ICV
 * (<=32). */
#define ESP_MAX_HDR	 24
#define ESP_MAX_OVERHEAD (ESP_MAX_HDR + 15 + 2 + 32)

/* Outbound sequence numbers: soft EXPIRE (asks iked to rekey) this many
 * packets before the 32-bit space runs out; hard at the end (RFC 4303
 * §3.3.3: the counter must not cycle). */
#define ESP_SEQ_SOFT_MARGIN (1u << 20)

/* Bits reported by encap/decap/tick in *events. */
#define ESP_EV_SOFT 0x1 /* soft lifetime reached: raise soft EXPIRE */
#define ESP_EV_HARD 0x2 /* hard lifetime reached: EXPIRE and delete */

/* Errors (negative) besides -errno. */
enum esp_err {
	ESP_OK = 0,
	ESP_E_SHORT = -1000, /* truncated / malformed */
	ESP_E_REPLAY,	     /* duplicate or left of the window */
	ESP_E_AUTH,	     /* ICV mismatch */
	ESP_E_PAD,	     /* bad pad length after decryption */
	ESP_E_SPACE,	     /* output buffer too small */
	ESP_E_DEAD,	     /* SA hard-expired or sequence exhausted */
	ESP_E_CRYPTO,	     /* OpenSSL failure */
};
const char *esp_strerror(int err);

/*
 * Combined-mode (AEAD) encryption: GCM, CCM (14-16), GMAC (21),
 * ChaCha20-Poly1305.  Their nonce is the sequence number, so a key must
 * never be used by two SAs (nonce reuse): r2espd refuses static AEAD keys
 * unless forced (K_OPEN_STATIC_KEYS in kernel.h).
 */
static inline bool esp_encr_is_aead(uint16_t encr_id)
{
	return (encr_id >= IKEV2_ENCR_AES_CCM_8 &&
		encr_id <= IKEV2_ENCR_AES_CCM_16) ||
	       (encr_id >= IKEV2_ENCR_AES_GCM_8 &&
		encr_id <= IKEV2_ENCR_NULL_AUTH_AES_GMAC) ||
	       encr_id == IKEV2_ENCR_CHACHA20_POLY1305;
}

struct esp_alg; /* private description of an algorithm */

struct esp_sa {
	struct ksa k; /* identity/parameters (keys wiped after init) */
	const struct esp_alg *alg;
	void *cipher_enc, *cipher_dec; /* EVP_CIPHER_CTX * */
	void *mac_enc, *mac_dec;       /* EVP_MAC_CTX *, CBC/NULL only */
	uint8_t salt[4];
	uint8_t icv_len, iv_len, block, mac_len;
	bool gcm_iv_inv; /* cipher_dec holds the salt, takes the IV alone */

	/* Outbound: last sequence number sent (64 bit; 32 without ESN). */
	uint64_t seq_out;
	/* Inbound replay state (RFC 4303 Appendix A): highest authenticated
	 * sequence number, window size, and a ring bitmap indexed by
	 * seq % bits (bits: power of two >= window). */
	uint64_t rpl_top;
	uint32_t window, rpl_bits;
	uint64_t rpl_map[ESP_REPLAY_MAX / 64];

	struct kcounters cnt;
	bool soft_done, dead;
	/* IPComp SAs only (ipcomp.c): the zlib streams (z_stream *) */
	void *zdef, *zinf;
	/*
	 * No IV hook here on purpose: the AEAD explicit IV is always the
	 * sequence number (unique per key while the SA lives) and the CBC
	 * IV always comes from RAND_bytes; tests that need fixed vectors
	 * replace RAND_bytes at link time (tests/unit/esp/meson.build).
	 */
};

/* Validate k and create the contexts.  err gets a readable reason.
 * k->proto IPPROTO_AH: integrity only (the engine is ah.h's). */
int esp_sa_init(struct esp_sa *sa, const struct ksa *k, uint64_t now_sec,
		char *err, size_t errlen);
void esp_sa_free(struct esp_sa *sa);

/* Bytes an encapsulation of a payload of len bytes takes. */
size_t esp_encap_len(const struct esp_sa *sa, size_t len);

/* Bytes of SPI, sequence number and IV in front of the payload. */
size_t esp_hdr_len(const struct esp_sa *sa);

/*
 * Protect payload (len bytes, next header nh) into out (outcap bytes):
 * out receives SPI .. ICV, *outlen its length.  *events gets ESP_EV_*.
 * The payload may already sit at out + esp_hdr_len(sa) (in place: one
 * copy less for the caller, one cipher call less here); any other
 * overlap with out is refused (ESP_E_SPACE).
 */
int esp_encap(struct esp_sa *sa, const uint8_t *payload, size_t len, uint8_t nh,
	      uint8_t *out, size_t outcap, size_t *outlen, uint64_t now_sec,
	      unsigned *events);

/* Read SPI (and low sequence number) of a received ESP packet. */
int esp_peek(const uint8_t *pkt, size_t len, uint32_t *spi, uint32_t *seq);

/*
 * Verify and decrypt pkt (SPI .. ICV) into out (which may be
 * pkt + esp_hdr_len(sa), in place): *outlen bytes of payload
 * with next header *nh.  Replay window is checked before and updated
 * only after the ICV verified (RFC 4303 §3.4.3).  Counters are updated
 * (replay/integrity drops too).
 */
int esp_decap(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out,
	      size_t outcap, size_t *outlen, uint8_t *nh, uint64_t now_sec,
	      unsigned *events);

/* Byte/packet lifetimes after a packet: ESP_EV_* (ah.c shares it). */
unsigned esp_lifetime_check(struct esp_sa *sa);

/* Time-based lifetimes; call about once a second. */
unsigned esp_sa_tick(struct esp_sa *sa, uint64_t now_sec);

/* Replay window primitives (exposed for tests). */
int esp_replay_check(const struct esp_sa *sa, uint32_t seq_lo,
		     uint64_t *seq_full);
void esp_replay_update(struct esp_sa *sa, uint64_t seq_full);

#endif
