/*
 * filesrc.c - the file source of the configuration loaders (direct,
 * record, replay; see filesrc.h).
 *
 * Ownership: the recorded entries (a list) own their path and data; data
 * is wiped before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/filesrc.h"
#include "lib/util.h"

enum { FS_DIRECT = 0, FS_RECORD = 1, FS_REPLAY = 2 };
enum { K_FILE = 1, K_STAT, K_GLOB, K_SECRET };

#define FS_MAX_ENTRIES 1024
#define FS_MAX_TOTAL   (64u << 20)

struct fs_entry {
	struct fs_entry *next;
	uint8_t kind;
	int err;
	uint32_t mode, uid;
	char *path;
	uint8_t *data;
	size_t len, got; /* got: bytes received so far (replay) */
};

static int fs_mode;
static struct fs_entry *fs_head, **fs_tail = &fs_head;
static size_t fs_n, fs_total;

static void fs_clear(void)
{
	while (fs_head) {
		struct fs_entry *e = fs_head;
		fs_head = e->next;
		if (e->data) {
			mem_wipe(e->data, e->len);
			free(e->data);
		}
		free(e->path);
		free(e);
	}
	fs_tail = &fs_head;
	fs_n = fs_total = 0;
}

static struct fs_entry *fs_find(uint8_t kind, const char *path)
{
	for (struct fs_entry *e = fs_head; e; e = e->next)
		if (e->kind == kind && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static struct fs_entry *fs_add(uint8_t kind, const char *path, int err,
			       const struct stat *st, const void *data,
			       size_t len)
{
	struct fs_entry *e;

	if (fs_n >= FS_MAX_ENTRIES || len > FS_MAX_TOTAL - fs_total)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->kind = kind;
	e->err = err;
	if (st) {
		e->mode = (uint32_t)st->st_mode;
		e->uid = (uint32_t)st->st_uid;
	}
	e->path = strdup(path);
	e->len = len;
	e->data = malloc(len + 1);
	if (!e->path || !e->data) {
		free(e->path);
		free(e->data);
		free(e);
		return NULL;
	}
	if (data && len)
		memcpy(e->data, data, len);
	e->data[len] = 0;
	e->got = data ? len : 0;
	*fs_tail = e;
	fs_tail = &e->next;
	fs_n++;
	fs_total += len;
	return e;
}

int filesrc_mode(void)
{
	return fs_mode;
}

void filesrc_free_buf(uint8_t *buf, size_t len)
{
	if (!buf)
		return;
	mem_wipe(buf, len);
	free(buf);
}

static void set_why(char *why, size_t n, const char *path, int err)
{
	if (!why || !n)
		return;
	if (err == -EINVAL)
		snprintf(why, n, "%s: not a regular file", path);
	else if (err == -EFBIG)
		snprintf(why, n, "%s: too large", path);
	else
		snprintf(why, n, "%s: %s", path, strerror(-err));
}

static int read_direct(const char *path, size_t max, uint8_t **buf, size_t *len,
		       struct stat *st)
{
	uint8_t *b;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st->st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	b = malloc((size_t)st->st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)st->st_size) {
		ssize_t n = read(fd, b + got, (size_t)st->st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	rc = 0;
out_close:
	close(fd);
	return rc;
}

/*
 * The copy of a file that is recorded for the engine: PEM private key
 * blocks ("-----BEGIN ... PRIVATE KEY-----" to its END line) left out,
 * so that the engine never holds a private key, also when the key shares
 * the certificate's file (racoon2 allows that).  *out is malloc'd.
 */
static int redact_private(const uint8_t *in, size_t len, uint8_t **out,
			  size_t *outlen)
{
	static const char tag[] = "PRIVATE KEY-----";
	uint8_t *o = malloc(len + 1);
	size_t i = 0, n = 0;

	if (!o)
		return -ENOMEM;
	while (i < len) {
		const uint8_t *b = memmem(in + i, len - i, "-----BEGIN ", 11);
		const uint8_t *eol, *e;
		size_t at;

		if (!b) {
			memcpy(o + n, in + i, len - i);
			n += len - i;
			break;
		}
		at = (size_t)(b - in);
		eol = memchr(b, '\n', len - at);
		if (!eol)
			eol = in + len;
		if (!memmem(b, (size_t)(eol - b), tag, sizeof(tag) - 1)) {
			/* not a key: copy through the end of this line */
			size_t stop = (size_t)(eol - in) + (eol < in + len);
			memcpy(o + n, in + i, stop - i);
			n += stop - i;
			i = stop;
			continue;
		}
		memcpy(o + n, in + i, at - i); /* text before the block */
		n += at - i;
		e = memmem(b, len - at, "-----END ", 9);
		while (e) {
			const uint8_t *el =
			    memchr(e, '\n', len - (size_t)(e - in));
			if (!el)
				el = in + len;
			if (memmem(e, (size_t)(el - e), tag, sizeof(tag) - 1)) {
				e = el;
				break;
			}
			e = memmem(el, len - (size_t)(el - in), "-----END ", 9);
		}
		/* no END line: drop the rest (never pass half a key) */
		i = e ? (size_t)(e - in) + (e < in + len) : len;
	}
	o[n] = 0;
	*out = o;
	*outlen = n;
	return 0;
}

int filesrc_read(const char *path, unsigned flags, size_t max, uint8_t **buf,
		 size_t *len, struct stat *st, char *why, size_t whysize)
{
	struct stat tmp;
	int rc;

	(void)flags;
	*buf = NULL;
	*len = 0;
	if (!st)
		st = &tmp;
	memset(st, 0, sizeof(*st));
	if (fs_mode == FS_REPLAY) {
		const struct fs_entry *e = fs_find(K_FILE, path);
		if (!e)
			rc = -ENOENT;
		else if (e->err)
			rc = e->err;
		else if (e->len > max)
			rc = -EFBIG;
		else if (e->got != e->len)
			rc = -EIO;
		else if (!(*buf = malloc(e->len + 1)))
			rc = -ENOMEM;
		else {
			memcpy(*buf, e->data, e->len + 1);
			*len = e->len;
			st->st_mode = (mode_t)e->mode;
			st->st_uid = (uid_t)e->uid;
			st->st_size = (off_t)e->len;
			rc = 0;
		}
		if (rc < 0)
			set_why(why, whysize, path, rc);
		return rc;
	}
	rc = read_direct(path, max, buf, len, st);
	if (rc < 0)
		set_why(why, whysize, path, rc);
	if (fs_mode == FS_RECORD && !fs_find(K_FILE, path)) {
		uint8_t *red = NULL;
		size_t rlen = 0;
		bool ok =
		    rc < 0 ? fs_add(K_FILE, path, rc, st, NULL, 0) != NULL
			   : redact_private(*buf, *len, &red, &rlen) == 0 &&
				 fs_add(K_FILE, path, 0, st, red, rlen) != NULL;
		filesrc_free_buf(red, rlen);
		if (ok)
			return rc;
		/* the engine would miss this file: fail the load here */
		filesrc_free_buf(*buf, *len);
		*buf = NULL;
		*len = 0;
		rc = -ENOMEM;
		set_why(why, whysize, path, rc);
	}
	return rc;
}

int filesrc_stat(const char *path, struct stat *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if (fs_mode == FS_REPLAY) {
		const struct fs_entry *e = fs_find(K_STAT, path);
		if (!e)
			return -ENOENT;
		st->st_mode = (mode_t)e->mode;
		st->st_uid = (uid_t)e->uid;
		return e->err;
	}
	rc = stat(path, st) == 0 ? 0 : -errno;
	if (fs_mode == FS_RECORD && !fs_find(K_STAT, path) &&
	    !fs_add(K_STAT, path, rc, st, NULL, 0))
		return -ENOMEM;
	return rc;
}

int filesrc_glob(const char *pattern, char ***paths, size_t *n)
{
	const struct fs_entry *e;
	char **v = NULL;
	size_t cnt = 0;
	int rc = 0;

	*paths = NULL;
	*n = 0;
	if (fs_mode == FS_REPLAY) {
		e = fs_find(K_GLOB, pattern);
		if (!e)
			return -ENOENT;
		if (e->err)
			return e->err;
		/* data: the paths, each NUL-terminated */
		for (size_t i = 0; i < e->len; i++)
			if (e->data[i] == 0)
				cnt++;
		v = calloc(cnt ? cnt : 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0, k = 0; k < cnt; k++) {
			v[k] = strdup((const char *)e->data + i);
			if (!v[k]) {
				filesrc_glob_free(v, k);
				return -ENOMEM;
			}
			i += strlen(v[k]) + 1;
		}
		*paths = v;
		*n = cnt;
		return cnt ? 0 : -ENOENT;
	} else {
		glob_t g;
		int grc;
		struct wr w;

		memset(&g, 0, sizeof(g));
		grc = glob(pattern, GLOB_TILDE | GLOB_ERR, NULL, &g);
		if (grc == GLOB_NOMATCH)
			rc = -ENOENT;
		else if (grc != 0)
			rc = -EIO;
		wr_init(&w, FS_MAX_TOTAL);
		if (rc == 0) {
			v = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof(*v));
			if (!v)
				rc = -ENOMEM;
		}
		for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
			v[i] = strdup(g.gl_pathv[i]);
			if (!v[i]) {
				rc = -ENOMEM;
				break;
			}
			cnt++;
			wr_bytes(&w, g.gl_pathv[i], strlen(g.gl_pathv[i]) + 1);
		}
		globfree(&g);
		if (rc == 0 && fs_mode == FS_RECORD &&
		    !fs_find(K_GLOB, pattern) &&
		    (wr_error(&w) ||
		     !fs_add(K_GLOB, pattern, 0, NULL, w.buf, w.len)))
			rc = -ENOMEM;
		else if (rc < 0 && rc != -ENOMEM && fs_mode == FS_RECORD &&
			 !fs_find(K_GLOB, pattern))
			fs_add(K_GLOB, pattern, rc, NULL, NULL, 0);
		wr_free(&w);
		if (rc < 0) {
			filesrc_glob_free(v, cnt);
			return rc;
		}
		*paths = v;
		*n = cnt;
		return 0;
	}
}

void filesrc_glob_free(char **paths, size_t n)
{
	if (!paths)
		return;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

void filesrc_note_secret(const char *path, int err, const uint8_t *buf,
			 size_t len)
{
	if (fs_mode == FS_RECORD && !fs_find(K_SECRET, path))
		fs_add(K_SECRET, path, err, NULL, err ? NULL : buf,
		       err ? 0 : len);
}

int filesrc_replay_secret(const char *path, void *buf, size_t maxlen,
			  size_t *len)
{
	const struct fs_entry *e = fs_find(K_SECRET, path);

	*len = 0;
	if (!e)
		return -ENOENT;
	if (e->err)
		return e->err;
	if (e->len > maxlen || e->got != e->len)
		return -EFBIG;
	memcpy(buf, e->data, e->len);
	*len = e->len;
	return 0;
}

void filesrc_record_start(void)
{
	fs_clear();
	fs_mode = FS_RECORD;
}

int filesrc_record_foreach(int (*emit)(void *arg, const struct wr *item),
			   void *arg)
{
	struct wr w;
	int rc = 0;

	wr_init(&w, FILESRC_CHUNK + 8192);
	for (const struct fs_entry *e = fs_head; e && rc == 0; e = e->next) {
		size_t off = 0;
		do {
			size_t n = e->len - off;
			if (n > FILESRC_CHUNK)
				n = FILESRC_CHUNK;
			wr_reset(&w);
			wr_u8(&w, e->kind);
			wr_u32(&w, (uint32_t)e->err);
			wr_u32(&w, e->mode);
			wr_u32(&w, e->uid);
			wr_u16(&w, (uint16_t)strlen(e->path));
			wr_bytes(&w, e->path, strlen(e->path));
			wr_u32(&w, (uint32_t)e->len);
			wr_u32(&w, (uint32_t)off);
			wr_bytes(&w, e->data + off, n);
			rc = wr_error(&w) ? wr_error(&w) : emit(arg, &w);
			off += n;
		} while (rc == 0 && off < e->len);
	}
	wr_free(&w);
	return rc;
}

void filesrc_record_stop(void)
{
	fs_clear();
	fs_mode = FS_DIRECT;
}

void filesrc_replay_reset(void)
{
	fs_clear();
}

int filesrc_replay_item(struct rd *r)
{
	uint8_t kind;
	uint32_t err, mode, uid, total, off;
	uint16_t plen;
	const uint8_t *p;
	char path[4096];
	struct fs_entry *e;
	size_t n;

	if (rd_u8(r, &kind) < 0 || rd_u32(r, &err) < 0 ||
	    rd_u32(r, &mode) < 0 || rd_u32(r, &uid) < 0 ||
	    rd_u16(r, &plen) < 0 || plen == 0 || plen >= sizeof(path) ||
	    rd_bytes(r, path, plen) < 0 || rd_u32(r, &total) < 0 ||
	    rd_u32(r, &off) < 0)
		return -EBADMSG;
	path[plen] = 0;
	if (memchr(path, 0, plen) || kind < K_FILE || kind > K_SECRET ||
	    (int32_t)err > 0 || (int32_t)err < -4095)
		return -EBADMSG;
	n = rd_left(r);
	if (rd_ptr(r, n, &p) < 0)
		return -EBADMSG;
	e = fs_find(kind, path);
	if (!e) {
		struct stat st;
		if (off != 0)
			return -EBADMSG;
		memset(&st, 0, sizeof(st));
		st.st_mode = (mode_t)mode;
		st.st_uid = (uid_t)uid;
		e = fs_add(kind, path, (int32_t)err, &st, NULL, total);
		if (!e)
			return -ENOMEM;
	}
	/* chunks arrive in order, each exactly where the last ended */
	if (off != e->got || total != e->len || n > e->len - e->got)
		return -EBADMSG;
	memcpy(e->data + e->got, p, n);
	e->got += n;
	return 0;
}

void filesrc_replay_begin(void)
{
	fs_mode = FS_REPLAY;
}

void filesrc_replay_end(void)
{
	fs_clear();
	fs_mode = FS_DIRECT;
}
