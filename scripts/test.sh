#!/usr/bin/env bash
# The whole racoon2 test suite, as README and CI run it:
#   sudo ./scripts/test.sh
# Installs missing Debian packages, checks the formatting, builds (warnings
# are errors), runs the unit tests, fuzz-corpus replays and config cases in a
# normal and in an ASan+UBSan build (the meson-registered netns scenarios in
# the latter only), then the network-namespace scenario and interop tests.
# Ends with one line "tests: N passed, N failed, N skipped".
#
#   scripts/test.sh --scenarios [SCRIPT...]
# (a developer's shortcut) builds the plain tree and runs only the scenario
# scripts named (default: all of them), as the full run does.
set -uo pipefail
only_scenarios=false
if [ "${1:-}" = --scenarios ]; then only_scenarios=true; shift; fi

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

passed=0 failed=0 skipped=0
failures=()
logdir=${R2_TEST_LOGS:-$top/build-logs}
rm -rf "$logdir"; mkdir -p "$logdir"

note() { printf '\n=== %s\n' "$*"; }

bash scripts/deps.sh || { echo "FAIL: dependencies"; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

build() { # dir, extra meson args...
	local dir=$1; shift
	if [ -d "$dir" ] && [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$logdir/setup-$(basename "$dir").log" 2>&1
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" >"$logdir/setup-$(basename "$dir").log" 2>&1
	fi || { cat "$logdir/setup-$(basename "$dir").log"; return 1; }
	ninja -C "$dir" >"$logdir/build-$(basename "$dir").log" 2>&1 ||
		{ tail -60 "$logdir/build-$(basename "$dir").log"; return 1; }
}

mesontests() { # dir, label, extra meson test args...
	local dir=$1 label=$2 out="$logdir/meson-test-$2.log"
	shift 2
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@" >"$out" 2>&1
	local ok fail skip
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	local to; to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	ok=${ok:-0} fail=$(( ${fail:-0} + ${to:-0} )) skip=${skip:-0}
	grep -E '^ *[0-9]+/[0-9]+ ' "$out" | sed "s/^/[$label] /"
	passed=$((passed + ok)); failed=$((failed + fail)); skipped=$((skipped + skip))
	if [ "$fail" -ne 0 ] || [ -z "$(grep -E '^Ok:' "$out")" ]; then
		[ -z "$(grep -E '^Ok:' "$out")" ] && failed=$((failed + 1))
		failures+=("meson tests ($label): see $out")
		grep -A40 -E '^=+ [0-9]+/[0-9]+ =+' "$out" | head -200
	fi
}

if ! $only_scenarios; then
note "format (.clang-format)"
out="$logdir/format.log"
bash scripts/format-check.sh >"$out" 2>&1
rc=$?
cat "$out"
if [ $rc -eq 0 ]; then passed=$((passed + 1))
elif [ $rc -eq 77 ]; then skipped=$((skipped + 1))
else failed=$((failed + 1)); failures+=("format: see $out"); fi

werror=false
[ "${CI:-}" = true ] && werror=true

note "build (gcc, -Werror=$werror)"
if build build -Dwerror=$werror -Dtests=enabled; then
	passed=$((passed + 1)); echo "PASS: build"
	# The meson-registered netns scenarios (iked_pair, kink_pair...) run
	# once, in the ASan+UBSan pass below, where they also check the
	# daemons' memory safety.
	note "unit tests, fuzz corpus replay, config cases"
	mesontests build plain --no-suite netns
else
	failed=$((failed + 1)); failures+=("build"); echo "FAIL: build"
fi

note "build (ASan+UBSan)"
if build build-asan -Dwerror=$werror -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false; then
	passed=$((passed + 1)); echo "PASS: build-asan"
	note "the same, and the meson-registered netns scenarios, under ASan+UBSan"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		mesontests build-asan asan
else
	failed=$((failed + 1)); failures+=("build-asan"); echo "FAIL: build-asan"
fi
else
	note "build (gcc)"
	build build -Dtests=enabled || { echo "FAIL: build"; exit 1; }
fi

# Scenario tests: each script prints PASS:/FAIL:/SKIP: lines and exits
# non-zero on failure, 77 when it cannot run here (counted as skipped; meson
# does the same for the "# run-by: meson" ones).  They use the plain build.
# Each one makes its own namespaces (PREFIX-PID-NAME) and state directory,
# so R2_TEST_JOBS of them (default 2) run at once: most of their time is
# spent waiting on timers and peers, not on the CPU.  A script with a line
# "# test-serial" runs alone.  Results are printed in file order.
export R2_BUILD=$top/build R2_TOP=$top
jobs_max=${R2_TEST_JOBS:-2}
scripts=() serial=()
# The longest first, so that the short ones fill the other slot.
for t in tests/netns/iked_userspace.sh tests/interop/ikev2_charon.sh \
	tests/interop/selftest_charon_pair.sh tests/netns/robust_ctl.sh \
	tests/netns/package.sh tests/netns/ike_malicious.sh tests/netns/*.sh \
	tests/interop/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in lib*|_*) continue ;; esac
	grep -q "^# run-by: meson" "$t" && continue
	if [ $# -gt 0 ]; then case " $* " in *" $t "*) ;; *) continue ;; esac; fi
	case " ${scripts[*]} ${serial[*]} " in *" $t "*) continue ;; esac
	if grep -q "^# test-serial" "$t"; then serial+=("$t"); else scripts+=("$t"); fi
done
logof() { printf '%s/%s.log' "$logdir" "$(echo "${1%.sh}" | tr / _)"; }
run_one() { # script: its output to its log, exit status and seconds beside it
	local out; out=$(logof "$1")
	local t0=$SECONDS
	timeout 600 bash "$1" >"$out" 2>&1
	echo $? >"$out.rc"
	echo $((SECONDS - t0)) >"$out.secs"
}
running=0
for t in "${scripts[@]}"; do
	if [ "$running" -ge "$jobs_max" ]; then wait -n; running=$((running - 1)); fi
	run_one "$t" &
	running=$((running + 1))
done
wait
for t in "${serial[@]}"; do run_one "$t"; done
for t in $(printf '%s\n' "${scripts[@]}" "${serial[@]}" | sort); do
	name=${t%.sh}
	out=$(logof "$t")
	rc=$(cat "$out.rc" 2>/dev/null || echo 1)
	note "$name ($(cat "$out.secs" 2>/dev/null || echo '?') s)"
	p=$(grep -c '^PASS:' "$out"); f=$(grep -c '^FAIL:' "$out"); s=$(grep -c '^SKIP:' "$out")
	grep -E '^(PASS|FAIL|SKIP):' "$out"
	if [ "$rc" -eq 77 ] && [ "$f" -eq 0 ]; then
		# exit 77: the script could not run here (no root, a tool or
		# binary missing).  A skip: neither passed nor failed, even if
		# it printed PASS lines before it gave up.
		[ "$s" -eq 0 ] && echo "SKIP: $name exited 77"
		skipped=$((skipped + (s > 0 ? s : 1)))
		[ "$p" -ne 0 ] && echo "# $name: its $p PASS line(s) not counted (the script skipped)"
		continue
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1)); echo "FAIL: $name exited $rc"
	fi
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		failures+=("$name: see $out")
		tail -40 "$out"
	fi
done

note "summary"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "# test command: $SECONDS s"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
