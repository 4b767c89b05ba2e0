#!/usr/bin/env bash
# robust_conf.sh - broken configuration reloads (robustness scenario 3).
#
# Hosts a and b (r2espd + spmd + iked, userspace data plane) with an
# established SA.  a's racoon2.conf is then replaced by broken versions:
# a syntax error, a pre_shared_key file that does not exist, a PSK file
# with mode 0644, an include of a missing file, binary junk, a truncated
# file, no file (an empty file is a valid configuration without policies,
# as at start, so it is not among them).  For each: `spmdctl reload`,
# SIGHUP to spmd, `ikedctl reload` and SIGHUP to iked are refused, the error names FILE:LINE:COL (for the errors that have a
# place), and the running state is kept: spmd's policies (compared with
# the list before), r2espd's policies, iked's IKE and CHILD SAs (same
# SPIs), traffic through the tunnel.  Finally the good file is put back:
# both reloads succeed, a CHILD rekey works.
#
#   robust_conf.sh [BUILD_DIR]
# PASS/FAIL lines; exit 1 on any failure; SKIP without root or binaries.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/robust/common.sh"
rb_init robust_conf "${1:-}"

rb_setup
check "IKE and CHILD SA established" rb_up || finish

D=$(rb_dir a)
CONF=$D/racoon2.conf
cp "$CONF" "$TEST_DIR/good.conf"
# The state to keep: policies (names and kernel indexes), r2espd's
# policies, the SAs' SPIs.
pols() { rb_spm a policy show all 2>/dev/null | sed -E 's/ (bytes|packets) [0-9]+//g'; }
esppols() { rb_esp a pol show 2>/dev/null | sed -E 's/ (bytes|packets) [0-9]+//g'; }
sas() { rb_q a '[s["spi_i"] + s["spi_r"] for s in ike] + [c["spi_in"] + c["spi_out"] for c in kids]'; }
POL0=$(pols)
EPOL0=$(esppols)
SA0=$(sas)
log "policies: $(echo "$POL0" | wc -l) lines; r2espd: $(echo "$EPOL0" | wc -l) lines; SAs: $SA0"
[ -n "$POL0" ] && [ -n "$EPOL0" ] && [ -n "$SA0" ] || fail "initial state readable"

state_kept() {
	[ "$(pols)" = "$POL0" ] && [ "$(esppols)" = "$EPOL0" ] &&
		[ "$(sas)" = "$SA0" ] && rb_alive a spmd && rb_alive a iked
}

# has_place FILE : an error of the form racoon2.conf:LINE:COL
has_place() { grep -q -E '(racoon2\.conf|\.conf|psk[^:]*):[0-9]+:[0-9]+' "$1"; }

# try_broken NAME PLACE(yes|no) : the current $CONF is broken.
try_broken() {
	local n=$1 place=$2 out=$TEST_DIR/o.$1 lines
	# spmdctl reload
	if rb_spm a reload >"$out.spmd" 2>&1; then
		fail "$n: spmdctl reload refused"
	else
		pass "$n: spmdctl reload refused ($(grep -m1 -E ':[0-9]+:[0-9]+|rror' "$out.spmd" | cut -c1-100))"
		[ "$place" = yes ] && check "$n: spmdctl prints file:line:col" has_place "$out.spmd"
	fi
	# SIGHUP
	lines=$(wc -l <"$TEST_DIR/spmd-a.log")
	kill -HUP "$(bg_pid spmd-a)"
	sleep 0.5
	tail -n +"$((lines + 1))" "$TEST_DIR/spmd-a.log" >"$out.hup"
	check "$n: SIGHUP to spmd: refused in the log" \
		grep -q -i -E 'reload.*(fail|refus|reject|kept|errors)' "$out.hup"
	[ "$place" = yes ] && check "$n: SIGHUP: the log names file:line:col" has_place "$out.hup"
	check "$n: spmd alive after SIGHUP" rb_alive a spmd
	# ikedctl reload
	if rb_ike a reload >"$out.iked" 2>&1; then
		fail "$n: ikedctl reload refused"
	else
		pass "$n: ikedctl reload refused ($(grep -m1 -E ':[0-9]+:[0-9]+|rror' "$out.iked" | cut -c1-100))"
		[ "$place" = yes ] && check "$n: ikedctl prints file:line:col" has_place "$out.iked"
	fi
	lines=$(wc -l <"$TEST_DIR/iked-a.log")
	kill -HUP "$(bg_pid iked-a)"
	sleep 0.3
	tail -n +"$((lines + 1))" "$TEST_DIR/iked-a.log" >"$out.ihup"
	check "$n: SIGHUP to iked: refused in the log" \
		grep -q -i -E 'reload.*(fail|refus|reject|kept|keeping)' "$out.ihup"
	check "$n: policies, r2espd policies and SAs unchanged, daemons alive" state_kept
	check "$n: traffic passes the tunnel" rb_ping_ok
}

# 1. syntax error: a missing semicolon, an unknown keyword
sed 's/^\tsrc "203.0.113.0\/25";$/\tsrc "203.0.113.0\/25"/' "$TEST_DIR/good.conf" >"$CONF"
try_broken "syntax error (missing ;)" yes
sed 's/ipsec_level require;/ipsec_levle require;/' "$TEST_DIR/good.conf" >"$CONF"
try_broken "syntax error (unknown keyword)" yes

# 2. pre_shared_key names a file that does not exist
sed "s|pre_shared_key \"[^\"]*\"|pre_shared_key \"$D/no-such-psk\"|" "$TEST_DIR/good.conf" >"$CONF"
try_broken "missing PSK file" yes

# 3. the PSK file is readable by others
(umask 022; printf 'robust-psk-%s\n' "$$" >"$D/psk0644")
chmod 0644 "$D/psk0644"
sed "s|pre_shared_key \"[^\"]*\"|pre_shared_key \"$D/psk0644\"|" "$TEST_DIR/good.conf" >"$CONF"
try_broken "PSK file mode 0644" yes

# 4. include of a missing file; binary junk; unterminated block; no file
{ cat "$TEST_DIR/good.conf"; printf 'include "%s/nothere.conf";\n' "$D"; } >"$CONF"
try_broken "include of a missing file" yes
head -c 3000 /dev/urandom >"$CONF"
try_broken "binary junk" no
head -n 20 "$TEST_DIR/good.conf" >"$CONF"
try_broken "truncated file (unterminated block)" yes
rm -f "$CONF"
try_broken "configuration file removed" no

# 5. the good file again: both reloads succeed, the SA still rekeys
cp "$TEST_DIR/good.conf" "$CONF"
check "good configuration: spmdctl reload succeeds" to_file "$TEST_DIR/o.good.spmd" rb_spm a reload
check "good configuration: ikedctl reload succeeds" to_file "$TEST_DIR/o.good.iked" rb_ike a reload
check "good configuration: policies and SAs as before" state_kept
KID=$(rb_q a '[c["id"] for c in kids][0]')
K0=$(rb_q a '[c["spi_in"] for c in kids]')
rb_ike a rekey child "$KID" >/dev/null 2>&1
check "a CHILD rekey succeeds after the reloads" \
	wait_for "rb_both_up && [ \"\$(rb_q a '[c[\"spi_in\"] for c in kids]')\" != '$K0' ]" 8
check "traffic passes the tunnel" rb_ping_ok
rb_finish
