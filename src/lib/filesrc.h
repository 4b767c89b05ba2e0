/*
 * filesrc.h - where the configuration loaders read files from.
 *
 * Every file the configuration needs (racoon2.conf and its includes,
 * include patterns, PSK and key-id files, certificates, keys) is read
 * through these calls, in one of three modes:
 *   direct   (default) the file system;
 *   record   the file system, and every answer (bytes, stat, error, glob
 *            result) is kept: iked's privileged parent reads the
 *            configuration this way on reload;
 *   replay   only the recorded answers, nothing else: iked's engine,
 *            chrooted without files, parses the same bytes the parent
 *            read, so both see one configuration.  A path that was not
 *            recorded is ENOENT.
 * Recorded data is wiped when freed (it holds PSKs and private keys).
 * Items cross the priv channel as: u8 kind, i32 err, u32 mode, u32 uid,
 * u16 path length, path, u32 total, u32 offset, bytes (one chunk).
 *
 * Not thread-safe (one loader at a time, as everywhere in racoon2).
 */
#ifndef RACOON_FILESRC_H
#define RACOON_FILESRC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "lib/rd.h"
#include "lib/wr.h"

#define FILESRC_SECRET 0x1   /* owner/mode checks of read_file_secret */
#define FILESRC_CHUNK  49152 /* bytes of file data per item */

/*
 * Reads path (at most max bytes) into a malloc'd, NUL-terminated buffer
 * (*buf, *len without the NUL; free with filesrc_free_buf).  *st (may be
 * NULL) gets the file's stat (in replay only mode, uid and size).
 * -EINVAL: not a regular file; -EFBIG: larger than max; else -errno of
 * open/read.  why (may be NULL) gets a reason.
 */
int filesrc_read(const char *path, unsigned flags, size_t max, uint8_t **buf,
		 size_t *len, struct stat *st, char *why, size_t whysize);
void filesrc_free_buf(uint8_t *buf, size_t len);
/* stat(2) through the source: 0 or -errno. */
int filesrc_stat(const char *path, struct stat *st);
/* glob(3) with GLOB_TILDE | GLOB_ERR: 0 and *paths (n entries, free
 * with filesrc_glob_free), -ENOENT for no match, else -errno. */
int filesrc_glob(const char *pattern, char ***paths, size_t *n);
void filesrc_glob_free(char **paths, size_t n);

/* Hooks for the secret reader in util.c (record / replay of results). */
int filesrc_mode(void); /* 0 direct, 1 record, 2 replay */
void filesrc_note_secret(const char *path, int err, const uint8_t *buf,
			 size_t len);
int filesrc_replay_secret(const char *path, void *buf, size_t maxlen,
			  size_t *len);

/* record mode (the parent) */
void filesrc_record_start(void);
/* Calls emit once per item (w holds the item body); stops at the first
 * error of emit and returns it. */
int filesrc_record_foreach(int (*emit)(void *arg, const struct wr *item),
			   void *arg);
void filesrc_record_stop(void); /* back to direct; recorded data wiped */

/* replay mode (the engine) */
void filesrc_replay_reset(void);       /* drops recorded data */
int filesrc_replay_item(struct rd *r); /* adds one received item */
void filesrc_replay_begin(void);
void filesrc_replay_end(void); /* back to direct; data wiped */

#endif
