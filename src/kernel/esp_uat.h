/*
 * esp_uat.h - Wireshark esp_sa UAT lines for key export (iked -K, kinkd -K).
 *
 * One line per SA in the format of Wireshark's esp_sa UAT file:
 *   "IPv4","src","dst","0xSPI","encr","0xkey","auth","0xkey"
 * esp_uat_open() creates DIR (0700) and DIR/NAME (0600, append, no
 * symlinks).  Callers log the "KEY EXPORT IS ON" warning.
 */
#ifndef RACOON_ESP_UAT_H
#define RACOON_ESP_UAT_H

#include <stdint.h>
#include <stdio.h>

#include "kernel/kernel.h"

FILE *esp_uat_open(const char *dir, const char *name);
const char *esp_uat_encr(uint16_t encr_id);
const char *esp_uat_auth(uint16_t integ_id);
/* enc_key includes the salt (AEAD/CTR), as struct ksa holds it */
void esp_uat_line(FILE *f, const struct kaddr *src, const struct kaddr *dst,
		  uint32_t spi, uint16_t encr_id, const uint8_t *enc_key,
		  size_t enc_len, uint16_t integ_id, const uint8_t *auth_key,
		  size_t auth_len);
/* the line for a struct ksa about to be installed */
void esp_uat_ksa(FILE *f, const struct ksa *sa);

#endif
