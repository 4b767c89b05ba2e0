/*
 * util.h - small helpers shared by every daemon and tool: hex
 * conversion, bounded string copy, reading secret files (PSKs) with a
 * permission check, and descriptor flags.
 *
 * None of these allocate; callers own every buffer they pass.
 */
#ifndef RACOON_UTIL_H
#define RACOON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The one way to wipe key material and other secrets (OPENSSL_cleanse
 * behind it, so the compiler cannot drop the stores).  NULL or n == 0
 * is a no-op.
 */
void mem_wipe(void *p, size_t n);

/*
 * Lowercase hex of p[0..n) into out, NUL-terminated.  Needs
 * outsize >= 2n + 1; returns the string length (2n) or -ENOSPC (out is
 * then an empty string when outsize > 0).
 */
int hex_encode(const void *p, size_t n, char *out, size_t outsize);
/* hex_encode() of p[0..n) written to f (key export files, tools);
 * 0 or -EIO. */
int hex_fput(FILE *f, const void *p, size_t n);

/*
 * Strict decode of exactly slen hex digits (either case; no "0x", no
 * spaces, even count) into out.  Returns 0 and sets *outlen, -EINVAL on
 * a bad digit or odd length, -ENOSPC if out is too small.  On failure
 * *outlen is 0 and out is wiped (it may be a key).
 */
int hex_decode(const char *s, size_t slen, void *out, size_t outsize,
	       size_t *outlen);
/* printf into an optional error buffer: nothing when why is NULL or
 * whysize is 0 (the "why" out-parameter of the checks in lib/). */
void why_set(char *why, size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of one hex digit (either case), -1 if c is not one. */
int hex_digit(unsigned char c);

/*
 * strlcpy-like: copies as much of src as fits, always NUL-terminates
 * when dstsize > 0.  Returns 0, or -ENOSPC if src was truncated.
 */
int str_copy(char *dst, const char *src, size_t dstsize);

/*
 * Reads a secret file (PSK) of at most maxlen bytes into buf.  Refuses
 * (-EPERM) anything that is not a regular file, that group or other may
 * read or write, or that is owned by someone other than root or the
 * effective user; -EFBIG if larger than maxlen; -errno if it cannot be
 * opened/read.  On failure buf is wiped and *len is 0.
 * read_file_secret() logs the reason at err level (module "util");
 * read_file_secret_why() writes it to why[whysize] instead (if non-NULL)
 * and does not log, for the config checker's own error format.
 */
int read_file_secret(const char *path, void *buf, size_t maxlen, size_t *len);
int read_file_secret_why(const char *path, void *buf, size_t maxlen,
			 size_t *len, char *why, size_t whysize);

/*
 * Only the permission/type/owner check of read_file_secret_why(), for
 * validating a configuration without loading the key.
 */
int check_file_secret(const char *path, char *why, size_t whysize);

/*
 * The rule itself (regular file, no group/other access, owned by root or
 * the effective user) applied to a stat result, for checkers that stat
 * through another file source (lib/filesrc.h).  0 or -EPERM with why[].
 */
struct stat;
int check_stat_secret(const char *path, const struct stat *st, char *why,
		      size_t whysize);

/* O_NONBLOCK and FD_CLOEXEC on fd; 0 or -errno. */
int set_nonblock_cloexec(int fd);

/*
 * The directory of a daemon's run-time file (socket, pid file; the
 * parent of a chroot directory), made 0700 when missing: the one mode of
 * R2_RUNDIR whichever daemon starts first.  An existing directory is
 * left alone.  0 (also when path has no directory part) or -errno.
 */
int mkdir_parent(const char *path);

#endif
