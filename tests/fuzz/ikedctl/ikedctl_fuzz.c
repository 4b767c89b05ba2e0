/*
 * ikedctl_fuzz.c - libFuzzer harness for iked's control-socket requests
 * (src/ike/ctl.c): the request parser and the dispatcher (show, initiate,
 * delete, rekey, reload, log, ping) through ctl_request(), the function
 * every control connection uses, against two real iked engines in one
 * process (tests/unit/iked/harness.c: fake kernel backend, packets passed
 * in memory, so initiate/delete/rekey run whole exchanges).
 *
 * Input: byte 0 = flags (bit 0: establish an IKE SA with a CHILD SA
 * first; bit 1: send the requests to the responder instead of the
 * initiator), then up to 8 request lines separated by LF, each run and
 * its answer checked ("0 ok\n..." or "1 reason\n", never empty), with
 * the engines pumped after each one.  Everything is rebuilt per input:
 * engines, SAs, kernel state, log levels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "../../unit/iked/harness.h"
#include "lib/log.h"
#include "lib/wr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct iked e0, e1;

/* "log debug" must not make the fuzzer print every line */
static void quiet(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static void check_answer(const struct wr *w)
{
	if (wr_error(w) || w->len < 5)
		abort();
	if (memcmp(w->buf, "0 ok\n", 5) != 0 &&
	    (w->buf[0] != '1' || w->buf[1] != ' ' ||
	     !memchr(w->buf, '\n', w->len)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iked *const engs[2] = {&e0, &e1};
	struct iked *target;
	uint8_t flags;
	int n = 0;

	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	log_init("fuzz", LOG_TO_STDERR, LOG_LVL_ERR);
	if (!getenv("IKEDCTL_FUZZ_VERBOSE"))
		log_set_sink(quiet);
	h_setup(
	    engs, 2,
	    &(struct h_opts){.pump_limit = 100000, .kill_on_teardown = true});
	h_peer_config(&e0, "198.51.100.1", "198.51.100.2");
	h_peer_config(&e1, "198.51.100.2", "198.51.100.1");
	/* Curve25519 (RFC 8031) instead of the default MODP-2048: the same
	 * exchanges at a fraction of the cost per input */
	for (int i = 0; i < 2; i++) {
		struct ike_remote *r = &engs[i]->cfg->remote[0];

		static const char psk[] = "ikedctl-fuzz-psk";

		/* known to each other by address and PSK (test_iked.c) */
		ike_id_parse(i ? "198.51.100.2" : "198.51.100.1", &r->my_id);
		ike_id_parse(i ? "198.51.100.1" : "198.51.100.2", &r->peer_id);
		r->have_psk = true;
		r->psk_len = sizeof(psk) - 1;
		memcpy(r->psk, psk, r->psk_len);
		r->dh.n = 1;
		r->dh.a[0].id = 31;
		r->dh.a[0].keybits = 0;
	}
	if (flags & 1)
		h_initiate(&e0, "peer", NULL, NULL);
	target = flags & 2 ? &e1 : &e0;
	while (size > 0 && n++ < 8) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) + 1 : size;
		struct wr out;

		wr_init(&out, 0);
		(void)ctl_request(target, data, len, &out);
		check_answer(&out);
		if (getenv("IKEDCTL_FUZZ_VERBOSE"))
			fwrite(out.buf, 1, out.len, stderr);
		wr_free(&out);
		h_pump();
		data += len;
		size -= len;
	}
	h_teardown();
	/* "log LEVEL [MODULE]" changes global state: undo it */
	log_clear_module_levels();
	log_set_level(LOG_LVL_ERR);
	return 0;
}
