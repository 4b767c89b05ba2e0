/*
 * dpd.c - liveness checks (RFC 7296 §2.4, racoon2's dpd_delay): when
 * nothing authenticated was heard from the peer for dpd_delay seconds,
 * an empty INFORMATIONAL request goes out; its response shows the peer
 * alive, and an unanswered one ends in the retransmission give-up
 * (sa.c), which kills the IKE SA (§2.4: the peer is then dead).  The
 * peer's own empty requests are answered by info.c like any
 * INFORMATIONAL.
 *
 * Ownership: the check timer is ike_sa.dpd (stopped with the SA in
 * sa.c); the task carries no state.
 */
#include <errno.h>

#include "ike/exch.h"
#include "ike/iked.h"
#include "lib/log.h"

#define MOD "ike"

/*
 * The check timer: due when the SA has been quiet for dpd_delay (plus
 * up to 10 % jitter, so that SAs set up in a burst -- 100,000 peers
 * after a restart -- do not all check at once, and drift apart further
 * on every round).  quiet_ms: how long it has been quiet already.
 *
 * A coarse timer (ev.h): O(1) start and stop in the loop's wheel (a
 * wave of SA deaths costs no heap removals), and its deadline on the
 * EV_COARSE_MS grid, so that the checks of many SAs due within one slot
 * go out in one wakeup of the loop (one sendmmsg, and their answers
 * come back in one burst) instead of one wakeup each: 100,000 SAs at
 * dpd_delay 30 s are 3,333 checks/s, 67 per slot.  A check comes at
 * most EV_COARSE_MS late.
 */
static void dpd_start(struct ike_sa *sa, uint64_t delay_ms, uint64_t quiet_ms)
{
	uint64_t left = quiet_ms < delay_ms ? delay_ms - quiet_ms : 0;

	ev_timer_start_coarse(sa->d->loop, &sa->dpd,
			      left + ike_jitter_ms(delay_ms, 10));
}

void ike_dpd_arm(struct ike_sa *sa)
{
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);

	ev_timer_stop(sa->d->loop, &sa->dpd);
	if (r && r->dpd_delay_sec && sa->state == IKE_S_ESTABLISHED)
		dpd_start(sa, (uint64_t)r->dpd_delay_sec * 1000, 0);
}

void dpd_heard(struct ike_sa *sa)
{
	sa->last_recv_ms = ev_now_ms();
	sa->dpd_fails = 0;
}

void ike_dpd_fire(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct ike_sa *sa = arg;
	const struct ike_remote *r = cfg_remote_by_name(sa->d->cfg, sa->remote);
	uint64_t now = ev_now_ms(), delay, quiet;

	(void)loop;
	(void)t;
	if (!r || !r->dpd_delay_sec || sa->state != IKE_S_ESTABLISHED)
		return;
	delay = (uint64_t)r->dpd_delay_sec * 1000;
	quiet = now - sa->last_recv_ms;
	/* §2.4: only check when nothing was heard for dpd_delay. */
	if (quiet >= delay && !sa->req_out && !task_queued(sa, TASK_DPD)) {
		struct task *nt = task_new(TASK_DPD);

		if (nt) {
			task_queue(sa, nt);
			task_run(sa);
		}
	}
	/* Unanswered checks end in the retransmission give-up, which
	 * kills the SA (§2.4: the peer is then considered dead).  Next
	 * round: dpd_delay after the check, or after what was heard. */
	if (sa->state == IKE_S_ESTABLISHED)
		dpd_start(sa, delay, quiet >= delay ? 0 : quiet);
}

/* §2.4: an INFORMATIONAL request with no payloads. */
int dpd_initiate(struct ike_sa *sa, struct task *t)
{
	struct ikev2_wr b;
	int rc;

	(void)t;
	rc = msg_start(sa, &b, IKEV2_EXCH_INFORMATIONAL, false, sa->mid_next,
		       true);
	if (rc < 0) {
		ikev2_wr_abort(&b);
		return rc;
	}
	return msg_send_request(sa, &b, IKEV2_EXCH_INFORMATIONAL);
}

void dpd_process_i(struct ike_sa *sa, struct task *t, const struct ike_msg *m)
{
	(void)t;
	(void)m;
	log_debug(MOD, "IKE SA #%u: peer alive", sa->id);
	sa->dpd_fails = 0;
}
