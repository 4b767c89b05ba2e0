/*
 * log.h - logging for every daemon and tool.
 *
 * Messages carry a level and a module tag ("ike", "spm", "xfrm", ...).
 * Output goes to stderr and/or syslog as chosen by log_init().  The
 * global level can be changed at run time (control sockets do so), and
 * per-module overrides refine it.  Per-packet messages must go through a
 * struct log_rl so that a flood of bad packets cannot flood the log.
 */
#ifndef RACOON_LOG_H
#define RACOON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

#define LOG_TO_STDERR 0x1
#define LOG_TO_SYSLOG 0x2

void log_init(const char *ident, unsigned sinks, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Per-module override; returns -ENOSPC if too many modules. */
int log_set_module_level(const char *module, enum log_level level);
bool log_enabled(enum log_level level, const char *module);
/* "err", "warn", "notice", "info", "debug" -> level; -EINVAL if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Startup-only: print and exit(1). */
void fatal(const char *module, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define log_err(mod, ...)    log_msg(LOG_LVL_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...)   log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_notice(mod, ...) log_msg(LOG_LVL_NOTICE, mod, __VA_ARGS__)
#define log_info(mod, ...)   log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                                                    \
	do {                                                                   \
		if (log_enabled(LOG_LVL_DEBUG, mod))                           \
			log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__);              \
	} while (0)

/*
 * Rate limiting: at most `burst` messages per `interval_ms`; the number
 * suppressed is reported with the next message that passes.
 * Declare one static struct log_rl per call site.
 */
struct log_rl {
	uint64_t window_start_ms;
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t printed;
	uint32_t suppressed;
};
#define LOG_RL_INIT(interval_ms_, burst_)                                      \
	{                                                                      \
		.interval_ms = (interval_ms_), .burst = (burst_)               \
	}

void log_rl_msg(struct log_rl *rl, enum log_level level, const char *module,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Per-packet warning at a call site: 10 per 5 s. */
#define log_rl_warn(mod, ...)                                                  \
	do {                                                                   \
		static struct log_rl rl_ = LOG_RL_INIT(5000, 10);              \
		log_rl_msg(&rl_, LOG_LVL_WARN, mod, __VA_ARGS__);              \
	} while (0)

/* Hex dump at debug level (keys are never logged below debug). */
void log_hex(enum log_level level, const char *module, const char *label,
	     const void *p, size_t n);

/* Drop every per-module override (tests, and config reloads). */
void log_clear_module_levels(void);

/*
 * Test hooks.  log_set_clock: monotonic milliseconds for the rate
 * limiter (NULL = CLOCK_MONOTONIC).  log_set_sink: receives each finished
 * line (no trailing newline) instead of stderr; syslog is unaffected
 * (NULL = back to stderr).
 */
void log_set_clock(uint64_t (*clock_ms)(void));
void log_set_sink(void (*sink)(enum log_level level, const char *line));

#endif
