/*
 * iked_engine_fuzz.c - libFuzzer harness on the stateful iked engine:
 * two engines in one process (tests/unit/iked/harness.c) with the
 * adversary of tests/unit/iked/adv.c between them, every decision of
 * which (deliver, drop, duplicate, reorder, replay, bit flips, forged
 * messages, payload mutations re-sealed with the real SK keys, the
 * engines' own exchanges, the clock) comes from the fuzz input.
 *
 * Input: byte 0 picks the scenario --
 *   bits 0-1  credentials: 0/3 the same PSK, 1 a wrong PSK on engine 1,
 *             2 an empty one (as a remote without a key would compute);
 *   bit 2     engine 1 initiates (else engine 0);
 *   bit 3     outsider only (no re-sealing): then both ends must agree;
 *   bit 4     AES-GCM-16 for the IKE SA (AEAD sealing), else AES-CBC.
 * The rest are the adversary's decisions.
 *
 * Oracles (a failure aborts: CMOCKA_TEST_ABORT=1): nothing ESTABLISHED
 * without the right key, at any step; after the adversary stops and the
 * engines settle with timers advanced, every SA in each fake kernel
 * belongs to a live CHILD SA, and (outsider) both ends agree on IKE
 * SAs, message IDs and CHILD SAs; after deleting and tearing down, no
 * SA is left in either kernel; ASan/UBSan/leaks.
 *
 * Everything is made and freed per input: engines, kernels,
 * configurations, the adversary, the deterministic RNG and clock
 * (tests/unit/iked/det.c, started from the same seed each time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

#include "crypto/xform.h"
#include "adv.h"
#include "det.h"
#include "harness.h"
#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_STEPS 400

static struct iked E0, E1;

static void config(struct iked *d, const char *me, const char *peer,
		   const char *psk, bool gcm)
{
	struct ike_remote *r;

	h_peer_config(d, me, peer);
	r = &d->cfg->remote[0];
	ike_id_parse(me, &r->my_id);
	ike_id_parse(peer, &r->peer_id);
	r->have_psk = true;
	r->psk_len = strlen(psk);
	memcpy(r->psk, psk, r->psk_len);
	r->dpd_delay_sec = 5;
	r->dpd_max_fail = 2;
	r->max_retry = 3;
	r->dh.n = 1;
	r->dh.a[0].id = 31; /* Curve25519: cheap, the exchanges are the point */
	if (gcm) {
		r->encr.n = 1;
		r->encr.a[0].id = IKEV2_ENCR_AES_GCM_16; /* RFC 5282 */
		r->encr.a[0].keybits = 128;
		r->integ.n = 0;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* An oracle's cmocka assertion outside a cmocka test aborts. */
	setenv("CMOCKA_TEST_ABORT", "1", 1);
	/* Quiet unless asked: no sink at all. */
	log_init("fuzz", getenv("IKED_TEST_DEBUG") ? LOG_TO_STDERR : 0,
		 LOG_LVL_DEBUG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iked *const eng[] = {&E0, &E1};
	static const struct h_opts o = {.pump_limit = 4000,
					.kill_on_teardown = true,
					.expect_empty_kernel = true};
	static bool init;
	struct adv a;
	unsigned cred, powers;
	bool m_init, outsider, gcm;
	const char *psk1;
	char err[160];

	if (!init) { /* replay.c has no LLVMFuzzerInitialize call */
		LLVMFuzzerInitialize(NULL, NULL);
		init = true;
	}
	if (size < 1)
		return 0;
	cred = data[0] & 3;
	m_init = data[0] & 4;
	outsider = data[0] & 8;
	gcm = data[0] & 16;
	psk1 = cred == 1 ? "guess" : cred == 2 ? "" : "s3cret";
	powers = outsider ? ADV_ALL & ~ADV_SEALED : ADV_ALL;

	det_start(1);
	h_setup(eng, 2, &o);
	config(&E0, "198.51.100.1", "198.51.100.2", "s3cret", gcm);
	config(&E1, "198.51.100.2", "198.51.100.1", psk1, gcm);
	adv_init(&a, powers, 0, data + 1,
		 size > MAX_STEPS * 4 ? MAX_STEPS * 4 : size - 1);
	if (iked_initiate(m_init ? &E1 : &E0, "peer", NULL, NULL, err,
			  sizeof(err)) != 0)
		abort();
	while (adv_step(&a))
		if ((cred == 1 || cred == 2) &&
		    (h_count_est(&E0) || h_count_est(&E1)))
			abort(); /* established without the key */
	adv_settle(&a, 90000);
	adv_check_kernel(&E0);
	adv_check_kernel(&E1);
	if (cred == 1 || cred == 2) {
		if (h_count_est(&E0) || h_count_est(&E1) ||
		    kfake_sa_count(&E0.kern))
			abort();
	} else if (outsider) {
		adv_check_agree(&E0, &E1);
	}
	/* Delete everything through the protocol, then tear down (the
	 * harness checks that both kernels end empty). */
	for (int i = 0; i < 2; i++)
		for (struct ike_sa *sa = h_eng(i)->sas; sa; sa = sa->next)
			if (sa->state == IKE_S_ESTABLISHED) {
				ike_queue_ike_delete(sa);
				task_run(sa);
			}
	adv_settle(&a, 30000);
	adv_check_kernel(&E0);
	adv_check_kernel(&E1);
	adv_free(&a);
	h_teardown();
	det_stop();
	return 0;
}
