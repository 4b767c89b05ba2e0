#!/usr/bin/env bash
# robust_ike_auth.sh - garbage from an authenticated peer (robustness,
# scenario 1 continued past the ICV check).
#
# a runs r2espd + spmd + iked with two remotes: b (a real racoon2 peer
# with an established SA) and "fuzz" (198.51.100.3, the namespace c).
# From c, tests/netns/robust/r2fuzz.py auth-fuzz is a minimal IKEv2
# initiator that completes IKE_SA_INIT (MODP-2048) and then sends IKE_AUTH
# requests, correctly protected, whose content is broken: wrong or empty
# AUTH, odd ID types, missing or duplicate payloads, child proposals with
# bad SPI sizes, protocols, transforms and key lengths, traffic selectors
# with lying counts and lengths, reversed ranges, unknown types, 200
# selectors, SET_WINDOW_SIZE 0 and 2^32-1, notifies with lying SPI sizes,
# CP junk, an SK payload inside SK.  On one valid SA it then sends
# malformed DELETEs (lying counts, unknown SPIs, wrong SPI sizes),
# CREATE_CHILD_SA requests without nonce, with unasked KE, with a KE of 1,
# for unknown SPIs, unknown exchange types, a message ID jump and a
# response-flagged request, and finally a liveness check that must be
# answered.  Each answer is printed (notify numbers) in the log.
# Expected: iked answers or drops each (never crashes or hangs), the
# valid exchange and the liveness check work, the a-b SA is unaffected.
#
#   robust_ike_auth.sh [BUILD_DIR]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init robust_ike_auth "${1:-}"
need_cmd openssl

rb_setup fuzzpeer=yes
check "IKE and CHILD SA a-b established" rb_up || finish
SA0=$(rb_q a '[c["spi_in"] + c["spi_out"] for c in kids if c["policy"] == "pol"]')

if to_file "$TEST_DIR/o.authfuzz" ns_exec c python3 "$RB_HERE/r2fuzz.py" auth-fuzz \
	--dst "$RB_A" --psk "$TEST_DIR/psk"; then
	pass "authenticated garbage: the valid exchange and the final liveness check answered"
else
	fail "authenticated garbage: valid exchange or final liveness check ($(tail -c 300 "$TEST_DIR/o.authfuzz"))"
fi
python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for k, v in d["results"].items():
    print("#   %-22s %s" % (k, v))
' "$TEST_DIR/o.authfuzz" >&2 2>/dev/null
check "iked alive on a" rb_alive a iked
check "iked answers ikedctl" to_file "$TEST_DIR/o.showsa" rb_ike a show sa
check "no SA of the fuzz peer left (all deleted)" \
	wait_for "[ \"\$(rb_q a 'len([s for s in d[\"ike_sas\"] if s[\"remote\"] == \"fuzz\"])')\" = 0 ]" 5
check "the a-b CHILD SA is unchanged" \
	eval "[ \"\$(rb_q a '[c[\"spi_in\"] + c[\"spi_out\"] for c in kids if c[\"policy\"] == \"pol\"]')\" = '$SA0' ]"
check "traffic passes the a-b tunnel" rb_ping_ok
K0=$(rb_q a '[c["spi_in"] for c in kids if c["policy"] == "pol"]')
rb_ike a rekey child "$(rb_q a '[c["id"] for c in kids if c["policy"] == "pol"][0]')" >/dev/null 2>&1
new_pol_kid() {
	local k
	k=$(rb_q a '[c["spi_in"] for c in kids if c["policy"] == "pol"]')
	[ -n "$k" ] && [ "$k" != "$K0" ] && [ "${k// /}" = "$k" ] && rb_is b 'len(kids)' 1
}
check "a CHILD rekey a-b still succeeds" wait_for new_pol_kid 8
rb_finish
