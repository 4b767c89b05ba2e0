/*
 * spmif_server_int.h - what spmd's spmif server shares between its two
 * halves: spmif_server.c (the listening socket, connections, output,
 * idle limits, ACQUIRE routing) and spmif_cmd.c (the command table and
 * the command handlers).  Not for other modules.
 */
#ifndef RACOON_SPMIF_SERVER_INT_H
#define RACOON_SPMIF_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/ctlsock.h"
#include "lib/ev.h"
#include "lib/outq.h"
#include "lib/wr.h"
#include "spm/spmd.h"
#include "spm/spmif_proto.h"

/* per-client backlog before we hang up; a command's answer is queued
 * whole if the backlog was below this when the command started */
#define OUT_MAX		CTLSOCK_OUT_MAX
#define MAX_CONNS	64
#define IDLE_MS_DEFAULT 10000u /* see spmif_server_set_idle_ms() */

struct conn {
	int fd;
	struct spmif_server *srv;
	uid_t uid;
	pid_t pid;
	bool authed;
	bool monitor;
	bool closing; /* close once the output is flushed */
	bool want_out;
	enum spmif_kmp kmp; /* 0 = not registered */
	char challenge[SPMIF_CHALLENGE_HEX + 1];
	uint8_t in[SPMIF_LINE_MAX];
	size_t inlen;
	bool discarding;   /* inside an over-long line */
	bool owns_dyn;	   /* added a non-persistent dynamic policy */
	uint64_t since_ms; /* connect, or end of the last complete line */
	uint64_t part_ms;  /* first byte of the unfinished line */
	struct outq out;   /* unsent output (lib/outq.h, stream) */
	bool answering;	   /* in a command whose answer is queued whole */
	struct conn *next;
};

struct spmif_server {
	struct spmd *d;
	struct ctlsock ls; /* listening socket (lib/ctlsock.h) */
	char *password;
	size_t pwlen;
	struct conn *conns;
	size_t nconns;
	struct conn *kmp[4]; /* by enum spmif_kmp */
	struct ev_timer idle_timer;
	unsigned idle_ms;
	uint64_t idle_drops, evictions; /* for STATUS */
};

/* spmif_server.c: output to one client */
void conn_close(struct conn *c);
void conn_put(struct conn *c, const struct wr *w);
void reply(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_lines(struct conn *c, int code, const char *text, const char *final);

/* spmif_cmd.c: one complete request line, parsed */
void spmif_dispatch(struct conn *c, const struct spmif_msg *m);

#endif
