/*
 * pskgen.c - pre-shared key and spmd password file generator, with
 * racoon2's pskgen command lines:
 *
 *   pskgen -r [-s LENGTH] [-o FILE] [-d]   random key of LENGTH bytes
 *   pskgen -i FILE [-h] [-o FILE] [-d]     key from the first line of
 *                                          FILE ("-": stdin); -h: FILE
 *                                          holds "0x72 0x61 ..." bytes
 *   pskgen -e FILE [-o FILE] [-d]          export a key as 0xNN bytes
 *
 * Output goes to FILE (default standard output).  A key file is written
 * to a new file created with mode 0600 in the target's directory and
 * renamed over the target, so it never exists with a wider mode or half
 * written; it is then checked with the same rule the daemons apply to
 * secret files (lib/util.h: regular file, no group/other access, owned
 * by root or us).  -d: debug, prints what would be written (as hex) and
 * touches no file.  Key material is wiped before exit.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

#define DEFAULT_KEYSIZE 16 /* bytes, as racoon2's pskgen */
#define MAX_KEY		4096

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pskgen -r [-s length] [-o file] [-d]\n"
		"       pskgen -i file [-h] [-o file] [-d]\n"
		"       pskgen -e file [-o file] [-d]\n"
		"  -r  random key (-s bytes, default %d)\n"
		"  -i  key from the first line of file ('-': standard input);\n"
		"      -h: the file holds bytes as \"0x72 0x61 ...\"\n"
		"  -e  export a key file as 0xNN bytes\n"
		"  -o  output file (created with mode 0600; default standard "
		"output)\n"
		"  -d  debug: print what would be written, touch no file\n",
		DEFAULT_KEYSIZE);
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

/* Read at most max bytes of path ("-": stdin) into buf. */
static int read_input(const char *path, unsigned char *buf, size_t max,
		      size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO
					: open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n < max) {
		ssize_t r = read(fd, buf + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			if (fd != STDIN_FILENO)
				close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*len = n;
	return 0;
}

/* "0x72 0x61 0x63" (one or two hex digits after each 0x, racoon2's -h
 * format) to bytes; only the hex digits count, as racoon2's pskgen. */
static int parse_hex_bytes(const unsigned char *in, size_t n,
			   unsigned char *out, size_t *outlen)
{
	size_t o = 0, i = 0;

	while (i < n) {
		unsigned v = 0, digits = 0;

		if (i + 1 < n && in[i] == '0' &&
		    (in[i + 1] == 'x' || in[i + 1] == 'X')) {
			i += 2;
			while (i < n && digits < 2) {
				int c = in[i];
				int d = c >= '0' && c <= '9'   ? c - '0'
					: c >= 'a' && c <= 'f' ? c - 'a' + 10
					: c >= 'A' && c <= 'F' ? c - 'A' + 10
							       : -1;
				if (d < 0)
					break;
				v = v * 16 + (unsigned)d;
				digits++;
				i++;
			}
			if (digits == 0)
				return -EINVAL;
			out[o++] = (unsigned char)v;
		} else if (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' ||
			   in[i] == '\r') {
			i++;
		} else {
			return -EINVAL;
		}
	}
	*outlen = o;
	return 0;
}

static size_t export_hex(const unsigned char *k, size_t n, char *out,
			 size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < outsize; i++)
		o += (size_t)snprintf(out + o, outsize - o, "0x%02x%s", k[i],
				      (i + 1) % 16 == 0	 ? "\n"
				      : (i + 1) % 8 == 0 ? "  "
							 : " ");
	if (o > 0 && out[o - 1] != '\n' && o + 1 < outsize)
		out[o++] = '\n';
	out[o] = '\0';
	return o;
}

/* Write data to path through a 0600 temporary file renamed over it. */
static int write_secret(const char *path, const void *data, size_t n)
{
	char tmp[PATH_MAX], why[256];
	const unsigned char *p = data;
	mode_t old = umask(077);
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		umask(old);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
	umask(old);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0)
		rc = -errno;
	while (rc == 0 && n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rc = -errno;
		else {
			p += w;
			n -= (size_t)w;
		}
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	if (check_file_secret(path, why, sizeof(why)) < 0) {
		fprintf(stderr, "pskgen: %s\n", why);
		return -EPERM;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char in[MAX_KEY], key[MAX_KEY];
	static char text[MAX_KEY * 6 + 64];
	const char *out = NULL, *ifile = NULL, *efile = NULL;
	bool random_mode = false, hex = false, debug = false;
	const unsigned char *data;
	size_t keylen = DEFAULT_KEYSIZE, len = 0, dlen;
	int opt, rc, modes;

	while ((opt = getopt(argc, argv, "rs:o:di:he:")) != -1) {
		switch (opt) {
		case 'r':
			random_mode = true;
			break;
		case 's': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end || v < 1 || v > MAX_KEY) {
				fprintf(stderr, "pskgen: -s: 1 to %d bytes\n",
					MAX_KEY);
				return 2;
			}
			keylen = (size_t)v;
			break;
		}
		case 'o':
			out = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'i':
			ifile = optarg;
			break;
		case 'h':
			hex = true;
			break;
		case 'e':
			efile = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	modes = random_mode + (ifile != NULL) + (efile != NULL);
	if (optind != argc || modes != 1 || (hex && !ifile)) {
		usage(stderr);
		return 2;
	}

	if (random_mode) {
		size_t got = 0;

		while (got < keylen) {
			ssize_t r = getrandom(key + got, keylen - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				fprintf(stderr, "pskgen: getrandom: %s\n",
					strerror(errno));
				return 1;
			}
			got += (size_t)r;
		}
		len = keylen;
	} else {
		size_t n = 0;

		rc = read_input(ifile ? ifile : efile, in, sizeof(in), &n);
		if (rc < 0) {
			fprintf(stderr, "pskgen: %s: %s\n",
				ifile ? ifile : efile, strerror(-rc));
			return 1;
		}
		if (efile) {
			memcpy(key, in, n);
			len = n;
		} else if (hex) {
			if (parse_hex_bytes(in, n, key, &len) < 0) {
				fprintf(stderr,
					"pskgen: %s: expected bytes "
					"as 0xNN\n",
					ifile);
				wipe(in, sizeof(in));
				return 1;
			}
		} else {
			/* racoon2 uses the first line only */
			for (len = 0; len < n && in[len] != '\n'; len++)
				key[len] = in[len];
		}
		wipe(in, sizeof(in));
		if (len == 0) {
			fprintf(stderr, "pskgen: empty key\n");
			return 1;
		}
	}

	/* -e writes text, the other modes the key bytes */
	if (efile) {
		dlen = export_hex(key, len, text, sizeof(text));
		data = (const unsigned char *)text;
	} else {
		data = key;
		dlen = len;
	}
	if (debug) {
		/* the key as 0xNN (the -e text is printed as it is) */
		size_t t =
		    efile ? dlen : export_hex(key, len, text, sizeof(text));

		fprintf(stdout, "pskgen: would write %zu bytes to %s:\n%.*s",
			dlen, out ? out : "standard output", (int)t, text);
		rc = 0;
	} else if (out && strcmp(out, "-") != 0) {
		rc = write_secret(out, data, dlen);
		if (rc < 0)
			fprintf(stderr, "pskgen: %s: %s\n", out, strerror(-rc));
	} else {
		rc = fwrite(data, 1, dlen, stdout) == dlen ? 0 : -EIO;
	}
	wipe(key, sizeof(key));
	wipe(text, sizeof(text));
	return rc < 0 ? 1 : 0;
}
