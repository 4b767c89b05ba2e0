#!/usr/bin/env bash
# tests/interop/iked_ikev1_charon_dpd.sh - issue 11: DPD (RFC 3706)
# between the real iked and strongSwan charon (`version = 1`):
#   dpd  iked with dpd_delay 2 s / dpd_retry 1 s / dpd_maxfail 3; charon
#        is killed with SIGKILL; iked declares it dead within 8 s, removes
#        the ISAKMP SA and the CHILD SAs (r2espd has none left)
#   initial_contact  charon initiates, is killed and restarted, initiates
#        again with INITIAL-CONTACT: iked drops the stale SAs
#   reauth  Phase 1 re-authentication (30 s ISAKMP lifetime): new Main
#        Mode, CHILD SA renewed on it, old ISAKMP SA Deleted, pings pass
# The cases live in iked_ikev1_charon.sh (shared helpers).
# Usage: R2_BUILD=build-dir tests/interop/iked_ikev1_charon_dpd.sh [CASE...]
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- dpd initial_contact reauth
exec bash "$HERE/iked_ikev1_charon.sh" "$@"
