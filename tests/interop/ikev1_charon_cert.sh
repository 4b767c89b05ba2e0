#!/usr/bin/env bash
# tests/interop/ikev1_charon_cert.sh - issue 11: IKEv1 Main Mode with
# certificates against strongSwan charon (version = 1), both directions:
# RSA signatures with a CA, ECDSA P-256 (RFC 4754) with pinned
# self-signed certificates; each followed by Quick Mode with PFS, NAT-T,
# traffic through r2espd, DPD and Deletes.  The cases run in
# ikev1_charon.sh (see there); this file only names them, so that each
# script stays short.
# Usage: R2_BUILD=build-dir tests/interop/ikev1_charon_cert.sh [CASE...]
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- r2-rsa charon-rsa r2-ecdsa charon-ecdsa
exec bash "$HERE/ikev1_charon.sh" "$@"
