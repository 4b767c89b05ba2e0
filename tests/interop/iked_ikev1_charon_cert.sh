#!/usr/bin/env bash
# tests/interop/iked_ikev1_charon_cert.sh - issue 11: the real iked
# (privilege-separated: the parent signs) against strongSwan charon
# (`version = 1`, pubkey auth) with Main Mode signatures, both ways:
#   cert_rsa    RSA certificates issued by one CA (iked's peers_public_key
#               is the CA), method 3
#   cert_ecdsa  ECDSA P-256 self-signed certificates pinned on both sides
#               (RFC 4754, method 9)
# each: iked initiates (ACQUIRE) Main Mode + Quick Mode with PFS, pings,
# `ikedctl delete ike`; then charon initiates, pings; tshark decodes and
# decrypts SIG/CERT with iked's exported keys.  The cases live in
# iked_ikev1_charon.sh (shared helpers); this file names them so that the
# test pool runs them beside the PSK cases.
# Usage: R2_BUILD=build-dir tests/interop/iked_ikev1_charon_cert.sh [CASE...]
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- cert_rsa cert_ecdsa
exec bash "$HERE/iked_ikev1_charon.sh" "$@"
