/*
 * cache.h - the crypto layer's process-wide caches (private to
 * src/crypto): algorithms fetched from the default provider once
 * (OpenSSL 3 looks a name up in its method store, under a lock, on every
 * EVP_*_fetch), each DH group's parameters (dh.c).  Everything here is
 * built once (pthread_once), then only read, so any thread may use it;
 * crypto_cleanup() (crypto.h) frees it at exit.
 */
#ifndef RACOON_CRYPTO_CACHE_H
#define RACOON_CRYPTO_CACHE_H

#include <openssl/evp.h>

/* The cipher or MAC of that OpenSSL name, borrowed (never freed by the
 * caller); NULL when the name is not in the table or the provider lacks
 * it. */
EVP_CIPHER *crypto_cached_cipher(const char *name);
EVP_MAC *crypto_cached_mac(const char *name);

/* dh.c: free the groups' parameters (crypto_cleanup). */
void crypto_dh_cleanup(void);

#endif
