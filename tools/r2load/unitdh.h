/*
 * unitdh.h - r2load -G: the generator's DH private value is 1, so its
 * public value is the group's generator and the shared secret g^ir is
 * the responder's own public value: no DH arithmetic per SA in r2load,
 * while the responder still does all of its work (unitdh.c).
 */
#ifndef R2LOAD_UNITDH_H
#define R2LOAD_UNITDH_H

#include <stddef.h>
#include <stdint.h>

/* The KE data of private value 1 for GROUP (len = the group's pub_len):
 * ECP (RFC 5903 §7) the base point G as x || y; MODP (RFC 3526) the
 * generator 2, zero-padded to the prime's length (RFC 7296 §3.4).
 * -ENOTSUP for Curve25519/Curve448 (RFC 7748 §5 clamps the scalar:
 * 1 is no X25519/X448 private key), -EINVAL for an unknown group. */
int unitdh_public(uint16_t group, uint8_t *out, size_t len);

/* g^ir for private value 1 and the responder's KE data PEER: ECP its
 * x-coordinate (the first half, RFC 5903 §7), MODP the value itself. */
int unitdh_secret(uint16_t group, const uint8_t *peer, size_t peer_len,
		  uint8_t *secret, size_t secret_len);

#endif
