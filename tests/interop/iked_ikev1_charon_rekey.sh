#!/usr/bin/env bash
# tests/interop/iked_ikev1_charon_rekey.sh - issue 11: Phase 2 rekey and
# Delete between the real iked and strongSwan charon (`version = 1`):
#   rekey   iked's CHILD SA lives 20 s: iked renews it (new Quick Mode with
#           PFS, then Delete of the old SA), then charon renews it
#           (swanctl --rekey); pings continue across both
#   delete  `ikedctl delete child` and `swanctl --terminate --child` each
#           remove the CHILD SA on both sides (iked, r2espd, charon), the
#           ISAKMP SA stays; a ping then negotiates a new Quick Mode
# The cases live in iked_ikev1_charon.sh (shared helpers).
# Usage: R2_BUILD=build-dir tests/interop/iked_ikev1_charon_rekey.sh [CASE...]
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- rekey delete
exec bash "$HERE/iked_ikev1_charon.sh" "$@"
