/*
 * util.c - see util.h.  Secret buffers are wiped with mem_wipe() on
 * every failure path; the caller owns (and wipes) them on success.
 */
#include "lib/filesrc.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/log.h"

void mem_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

int hex_encode(const void *p, size_t n, char *out, size_t outsize)
{
	static const char hexd[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	/* n <= INT32_MAX / 2 also keeps 2n + 1 from wrapping. */
	if (n > INT32_MAX / 2 || outsize < 2 * n + 1) {
		if (outsize > 0)
			out[0] = '\0';
		return -ENOSPC;
	}
	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 0xf];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

int hex_fput(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	char buf[2 * 64 + 1];

	while (n) {
		size_t k = n < 64 ? n : 64;

		hex_encode(b, k, buf, sizeof(buf));
		if (fputs(buf, f) == EOF) {
			mem_wipe(buf, sizeof(buf));
			return -EIO;
		}
		b += k;
		n -= k;
	}
	mem_wipe(buf, sizeof(buf)); /* the bytes may be a key */
	return 0;
}

int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, size_t slen, void *out, size_t outsize,
	       size_t *outlen)
{
	uint8_t *o = out;
	size_t i;
	int rc;

	*outlen = 0;
	if ((!s && slen) || slen % 2)
		return -EINVAL;
	if (slen / 2 > outsize)
		return -ENOSPC;
	for (i = 0; i < slen; i += 2) {
		int hi = hex_digit((unsigned char)s[i]);
		int lo = hex_digit((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0) {
			rc = -EINVAL;
			goto fail_wipe;
		}
		o[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = slen / 2;
	return 0;

fail_wipe:
	if (outsize)
		mem_wipe(out, outsize);
	return rc;
}

int str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return -ENOSPC;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return -ENOSPC;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int mkdir_parent(const char *path)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int set_nonblock_cloexec(int fd)
{
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

void why_set(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (!why || whysize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

/* The policy of OpenBSD iked for PSK files: private, regular, ours. */
int check_stat_secret(const char *path, const struct stat *st, char *why,
		      size_t whysize)
{
	if (!S_ISREG(st->st_mode)) {
		why_set(why, whysize, "%s: not a regular file", path);
		return -EPERM;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		why_set(why, whysize,
			"%s: accessible by group or other (mode %04o); "
			"it must be 0600 or stricter (chmod 600 %s)",
			path, (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		why_set(why, whysize,
			"%s: owned by uid %u, must be owned by root or uid %u",
			path, (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

int check_file_secret(const char *path, char *why, size_t whysize)
{
	struct stat st;
	int rc;

	why_set(why, whysize, "%s", "");
	if (stat(path, &st) < 0) {
		rc = -errno;
		why_set(why, whysize, "%s: %s", path, strerror(errno));
		return rc;
	}
	return check_stat_secret(path, &st, why, whysize);
}

static int read_secret_fs(const char *path, void *buf, size_t maxlen,
			  size_t *len, char *why, size_t whysize)
{
	uint8_t *b = buf;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	*len = 0;
	why_set(why, whysize, "%s", "");
	/* Check the opened file itself, so a swapped path cannot slip by. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		why_set(why, whysize, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		why_set(why, whysize, "%s: %s", path, strerror(errno));
		goto fail_close;
	}
	rc = check_stat_secret(path, &st, why, whysize);
	if (rc < 0)
		goto fail_close;
	for (;;) {
		/* Read one byte past maxlen to detect an oversized file. */
		uint8_t extra;

		if (got < maxlen)
			n = read(fd, b + got, maxlen - got);
		else
			n = read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			why_set(why, whysize, "%s: %s", path, strerror(errno));
			goto fail_wipe;
		}
		if (n == 0)
			break;
		if (got >= maxlen) {
			mem_wipe(&extra, sizeof(extra));
			rc = -EFBIG;
			why_set(why, whysize, "%s: larger than %zu bytes", path,
				maxlen);
			goto fail_wipe;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;

fail_wipe:
	if (maxlen)
		mem_wipe(buf, maxlen);
fail_close:
	close(fd);
	return rc;
}

/* Through lib/filesrc.h: iked's engine gets what its parent read. */
int read_file_secret_why(const char *path, void *buf, size_t maxlen,
			 size_t *len, char *why, size_t whysize)
{
	int rc;

	if (filesrc_mode() == 2) {
		why_set(why, whysize, "%s", "");
		rc = filesrc_replay_secret(path, buf, maxlen, len);
		if (rc < 0)
			why_set(why, whysize,
				"%s: %s (as read by the "
				"privileged parent)",
				path, strerror(-rc));
		return rc;
	}
	rc = read_secret_fs(path, buf, maxlen, len, why, whysize);
	filesrc_note_secret(path, rc, buf, rc == 0 ? *len : 0);
	return rc;
}

int read_file_secret(const char *path, void *buf, size_t maxlen, size_t *len)
{
	char why[512];
	int rc = read_file_secret_why(path, buf, maxlen, len, why, sizeof(why));

	if (rc < 0)
		log_err("util", "secret file refused: %s", why);
	return rc;
}
