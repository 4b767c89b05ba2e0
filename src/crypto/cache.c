/*
 * cache.c - algorithms fetched once (cache.h) and crypto_cleanup().
 */
#include "crypto/cache.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

/* Every name cipher.c and mac.c ask for. */
static struct {
	const char *name;
	EVP_CIPHER *c;
} ciphers[] = {
    {"DES-EDE3-CBC", NULL}, {"AES-128-CBC", NULL},	 {"AES-192-CBC", NULL},
    {"AES-256-CBC", NULL},  {"AES-128-CTR", NULL},	 {"AES-192-CTR", NULL},
    {"AES-256-CTR", NULL},  {"AES-128-GCM", NULL},	 {"AES-192-GCM", NULL},
    {"AES-256-GCM", NULL},  {"ChaCha20-Poly1305", NULL}, {"AES-128-ECB", NULL},
};
static struct {
	const char *name;
	EVP_MAC *m;
} macs[] = {{"HMAC", NULL}, {"CMAC", NULL}};

#define NCIPHERS (sizeof(ciphers) / sizeof(ciphers[0]))
#define NMACS	 (sizeof(macs) / sizeof(macs[0]))

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (size_t i = 0; i < NCIPHERS; i++)
		ciphers[i].c = EVP_CIPHER_fetch(NULL, ciphers[i].name, NULL);
	for (size_t i = 0; i < NMACS; i++)
		macs[i].m = EVP_MAC_fetch(NULL, macs[i].name, NULL);
}

EVP_CIPHER *crypto_cached_cipher(const char *name)
{
	if (pthread_once(&fetch_once, fetch_all) != 0)
		return NULL;
	for (size_t i = 0; i < NCIPHERS; i++)
		if (strcmp(ciphers[i].name, name) == 0)
			return ciphers[i].c;
	return NULL;
}

EVP_MAC *crypto_cached_mac(const char *name)
{
	if (pthread_once(&fetch_once, fetch_all) != 0)
		return NULL;
	for (size_t i = 0; i < NMACS; i++)
		if (strcmp(macs[i].name, name) == 0)
			return macs[i].m;
	return NULL;
}

void crypto_cleanup(void)
{
	for (size_t i = 0; i < NCIPHERS; i++) {
		EVP_CIPHER_free(ciphers[i].c);
		ciphers[i].c = NULL;
	}
	for (size_t i = 0; i < NMACS; i++) {
		EVP_MAC_free(macs[i].m);
		macs[i].m = NULL;
	}
	crypto_dh_cleanup();
}
