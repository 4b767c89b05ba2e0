/*
 * log.c - leveled logging to stderr and/or syslog, with per-module level
 * overrides and rate limiting for per-packet messages.
 *
 * All state is static and the daemons are single-threaded.  The module
 * override table holds copies of the module names (fixed size), so callers
 * keep ownership of every string they pass.  Message text is formatted
 * into a bounded stack buffer; control characters (which may come from
 * peers, e.g. identities) are escaped so one message stays one line.
 *
 * Test hooks: log_set_clock() replaces the monotonic clock used by the
 * rate limiter, log_set_sink() captures finished lines instead of writing
 * them to stderr.
 */
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_IDENT_MAX  32
#define LOG_MODULE_MAX 16 /* bytes, including the NUL */
#define LOG_MODULES    32
#define LOG_LINE_MAX   2048

struct log_module {
	char name[LOG_MODULE_MAX];
	enum log_level level;
};

static char log_ident[LOG_IDENT_MAX] = "racoon2";
static unsigned log_sinks = LOG_TO_STDERR;
static enum log_level log_level_cur = LOG_LVL_INFO;
static bool log_syslog_open;
static struct log_module log_modules[LOG_MODULES];
static size_t log_nmodules;
static uint64_t (*log_clock)(void);
static void (*log_sink)(enum log_level, const char *);

static const char *const level_names[] = {
    [LOG_LVL_ERR] = "err",	 [LOG_LVL_WARN] = "warn",
    [LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
    [LOG_LVL_DEBUG] = "debug",
};

static const char *const level_tags[] = {
    [LOG_LVL_ERR] = "ERR",	 [LOG_LVL_WARN] = "WARN",
    [LOG_LVL_NOTICE] = "NOTICE", [LOG_LVL_INFO] = "INFO",
    [LOG_LVL_DEBUG] = "DEBUG",
};

static const int level_prio[] = {
    [LOG_LVL_ERR] = LOG_ERR,	   [LOG_LVL_WARN] = LOG_WARNING,
    [LOG_LVL_NOTICE] = LOG_NOTICE, [LOG_LVL_INFO] = LOG_INFO,
    [LOG_LVL_DEBUG] = LOG_DEBUG,
};

static enum log_level clamp_level(enum log_level l)
{
	if ((int)l < (int)LOG_LVL_ERR)
		return LOG_LVL_ERR;
	if ((int)l > (int)LOG_LVL_DEBUG)
		return LOG_LVL_DEBUG;
	return l;
}

static size_t copy_trunc(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

void log_init(const char *ident, unsigned sinks, enum log_level level)
{
	if (ident && *ident) {
		const char *slash = strrchr(ident, '/');
		copy_trunc(log_ident, sizeof(log_ident),
			   slash ? slash + 1 : ident);
	}
	if (log_syslog_open) {
		closelog();
		log_syslog_open = false;
	}
	log_sinks = sinks;
	log_level_cur = clamp_level(level);
	if (sinks & LOG_TO_SYSLOG) {
		/* log_ident is static, as openlog() requires. */
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog_open = true;
	}
}

void log_set_level(enum log_level level)
{
	log_level_cur = clamp_level(level);
}

enum log_level log_get_level(void)
{
	return log_level_cur;
}

static struct log_module *module_find(const char *module)
{
	size_t i;

	if (!module)
		return NULL;
	for (i = 0; i < log_nmodules; i++)
		if (strcmp(log_modules[i].name, module) == 0)
			return &log_modules[i];
	return NULL;
}

int log_set_module_level(const char *module, enum log_level level)
{
	struct log_module *m;

	if (!module || !*module || strlen(module) >= LOG_MODULE_MAX)
		return -EINVAL;
	m = module_find(module);
	if (!m) {
		if (log_nmodules == LOG_MODULES)
			return -ENOSPC;
		m = &log_modules[log_nmodules++];
		copy_trunc(m->name, sizeof(m->name), module);
	}
	m->level = clamp_level(level);
	return 0;
}

void log_clear_module_levels(void)
{
	memset(log_modules, 0, sizeof(log_modules));
	log_nmodules = 0;
}

bool log_enabled(enum log_level level, const char *module)
{
	const struct log_module *m = module_find(module);
	enum log_level limit = m ? m->level : log_level_cur;

	return (int)level <= (int)limit;
}

int log_level_parse(const char *name)
{
	size_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	/* Common spellings, so "-l error" does what the operator meant. */
	if (strcasecmp(name, "error") == 0)
		return LOG_LVL_ERR;
	if (strcasecmp(name, "warning") == 0)
		return LOG_LVL_WARN;
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((int)level < (int)LOG_LVL_ERR || (int)level > (int)LOG_LVL_DEBUG)
		return "unknown";
	return level_names[level];
}

void log_set_clock(uint64_t (*clock_ms)(void))
{
	log_clock = clock_ms;
}

void log_set_sink(void (*sink)(enum log_level level, const char *line))
{
	log_sink = sink;
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	if (log_clock)
		return log_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Append src to dst[len..] escaping bytes that would break the one-line
 * format (control characters, DEL); returns the new length and sets *cut
 * if src did not fit.  Never overflows: dst[size - 1] is the last byte
 * written (the NUL).
 */
static size_t escape_into(char *dst, size_t size, size_t len, const char *src,
			  bool *cut)
{
	const unsigned char *s = (const unsigned char *)src;

	for (; *s; s++) {
		if (*s >= 0x20 && *s != 0x7f) {
			if (len + 1 >= size)
				break;
			dst[len++] = (char)*s;
			continue;
		}
		if (len + 4 >= size)
			break;
		dst[len++] = '\\';
		dst[len++] = 'x';
		hex_encode(s, 1, dst + len, size - len);
		len += 2;
	}
	if (*s && cut)
		*cut = true;
	dst[len] = '\0';
	return len;
}

/*
 * Emit one finished message (already enabled-checked).  `suffix`, when
 * non-NULL, is appended verbatim (rate-limiter notes).
 */
static void log_emit(enum log_level level, const char *module, const char *fmt,
		     va_list ap, const char *suffix)
    __attribute__((format(printf, 3, 0)));

static void log_emit(enum log_level level, const char *module, const char *fmt,
		     va_list ap, const char *suffix)
{
	char msg[LOG_LINE_MAX], text[LOG_LINE_MAX + 64];
	char line[LOG_LINE_MAX + 64 + 128];
	bool cut;
	struct timespec ts;
	struct tm tm;
	size_t tlen;
	int saved_errno = errno, n;

	level = clamp_level(level);
	if (!module)
		module = "-";
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		copy_trunc(msg, sizeof(msg), "(format error)");
	cut = n >= (int)sizeof(msg);
	/* Leave room for "..." and the rate limiter's note. */
	tlen = escape_into(text, LOG_LINE_MAX, 0, msg, &cut);
	if (cut) {
		memcpy(text + tlen, "...", 4);
		tlen += 3;
	}
	if (suffix)
		tlen = escape_into(text, sizeof(text), tlen, suffix, NULL);

	if (log_sink || (log_sinks & LOG_TO_STDERR)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s "
			     "%s: %s",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000L, log_ident, (long)getpid(),
			     level_tags[level], module, text);
		if (n < 0)
			line[0] = '\0';
		if (log_sink) {
			log_sink(level, line);
		} else {
			/* One fputs per line keeps lines whole. */
			fprintf(stderr, "%s\n", line);
			fflush(stderr);
		}
	}
	if (log_sinks & LOG_TO_SYSLOG)
		syslog(level_prio[level], "%s: %s", module, text);
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level, module))
		return;
	va_start(ap, fmt);
	log_emit(level, module, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *module, const char *fmt, ...)
{
	va_list ap;

	/* Always visible, whatever the configured level. */
	if (!(log_sinks & (LOG_TO_STDERR | LOG_TO_SYSLOG)))
		log_sinks |= LOG_TO_STDERR;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, module, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void log_rl_msg(struct log_rl *rl, enum log_level level, const char *module,
		const char *fmt, ...)
{
	char note[64];
	uint32_t burst = rl->burst ? rl->burst : 1;
	uint64_t now;
	va_list ap;

	if (!log_enabled(level, module))
		return;
	now = log_now_ms();
	/* A fresh limiter, or the window is over: start a new window. */
	if ((rl->printed == 0 && rl->suppressed == 0) ||
	    now < rl->window_start_ms ||
	    now - rl->window_start_ms >= rl->interval_ms) {
		rl->window_start_ms = now;
		rl->printed = 0;
	}
	if (rl->printed >= burst) {
		if (rl->suppressed < UINT32_MAX)
			rl->suppressed++;
		return;
	}
	rl->printed++;
	note[0] = '\0';
	if (rl->suppressed) {
		snprintf(note, sizeof(note),
			 " (%u similar messages suppressed)", rl->suppressed);
		rl->suppressed = 0;
	}
	va_start(ap, fmt);
	log_emit(level, module, fmt, ap, note[0] ? note : NULL);
	va_end(ap);
}

void log_hex(enum log_level level, const char *module, const char *label,
	     const void *p, size_t n)
{
	const uint8_t *b = p;
	char buf[16 * 3 + 1];
	size_t off, i, k;

	/* Dumps may hold keys: never below debug, whatever was asked. */
	(void)level;
	if (!log_enabled(LOG_LVL_DEBUG, module))
		return;
	log_msg(LOG_LVL_DEBUG, module, "%s (%zu bytes)", label ? label : "", n);
	if (!b)
		return;
	for (off = 0; off < n; off += 16) {
		k = 0;
		for (i = off; i < n && i < off + 16; i++) {
			hex_encode(&b[i], 1, buf + k, sizeof(buf) - k);
			k += 2;
			buf[k++] = ' ';
		}
		buf[k ? k - 1 : 0] = '\0';
		log_msg(LOG_LVL_DEBUG, module, "  %04zx: %s", off, buf);
	}
}
