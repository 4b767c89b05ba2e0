#!/usr/bin/env bash
# tests/netns/package.sh - the Debian package (issue 13): builds it from
# the working tree in a temporary copy (the checkout stays clean), checks
# its contents (dpkg -c: binaries, man pages, /etc/racoon2 with modes,
# systemd units), runs lintian (an error is a FAIL) and runs the demo once
# from the binaries extracted with dpkg -x (scripts/demo.sh R2_BIN=).
# Takes a few minutes (dpkg-buildpackage compiles everything once).
set -uo pipefail
top=${R2_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
fail=0
pass() { echo "PASS: package: $*"; }
bad() { echo "FAIL: package: $*"; fail=1; }

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { echo "SKIP: package: $t missing (scripts/deps.sh)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: package: needs root (demo)"; exit 77; }

T=$(mktemp -d /tmp/r2pkgtest.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/racoon2" "$T/root"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build' |
	tar -cf - -T -) | tar -xf - -C "$T/racoon2"
if (cd "$T/racoon2" && dpkg-buildpackage -us -uc -b -j2) >"$T/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b"
else
	tail -30 "$T/build.log"; bad "dpkg-buildpackage failed"; exit 1
fi
deb=$(ls "$T"/racoon2_*.deb | head -1)
dpkg -c "$deb" | awk '{ print $1, $6 }' >"$T/contents"
want=(
	'-rwxr-xr-x ./usr/sbin/spmd' '-rwxr-xr-x ./usr/sbin/iked'
	'-rwxr-xr-x ./usr/sbin/kinkd' '-rwxr-xr-x ./usr/sbin/r2espd'
	'-rwxr-xr-x ./usr/sbin/spmdctl' '-rwxr-xr-x ./usr/sbin/ikedctl'
	'-rwxr-xr-x ./usr/sbin/r2espctl' '-rwxr-xr-x ./usr/sbin/racoon2-conf'
	'-rw-r--r-- ./usr/share/man/man5/racoon2.conf.5.gz'
	'-rw-r--r-- ./usr/share/man/man8/iked.8.gz'
	'-rw-r--r-- ./usr/share/man/man8/spmd.8.gz'
	'-rw-r--r-- ./usr/share/man/man7/spmif.7.gz'
	'-rw-r--r-- ./etc/racoon2/racoon2.conf'
	'drwx------ ./etc/racoon2/psk/' 'drwx------ ./etc/racoon2/cert/'
	'-rw-r--r-- ./lib/systemd/system/spmd.service'
	'-rw-r--r-- ./lib/systemd/system/iked.service'
	'-rw-r--r-- ./lib/systemd/system/kinkd.service'
	'-rw-r--r-- ./lib/systemd/system/r2espd.service'
)
for w in "${want[@]}"; do
	grep -qxF -- "$w" "$T/contents" || bad "dpkg -c: missing '$w'"
done
[ $fail = 0 ] && pass "dpkg -c: ${#want[@]} expected entries with their modes"
dpkg-deb -e "$deb" "$T/ctl"
grep -qx /etc/racoon2/racoon2.conf "$T/ctl/conffiles" &&
	pass "racoon2.conf is a conffile" || bad "racoon2.conf is not a conffile"
grep -q _racoon2 "$T/ctl/postinst" &&
	pass "postinst creates _racoon2" || bad "postinst does not create _racoon2"
lintian "$deb" >"$T/lintian" 2>&1
sed 's/^/    /' "$T/lintian"
if grep -q '^E:' "$T/lintian"; then bad "lintian errors"; else pass "lintian: no error"; fi
dpkg -x "$deb" "$T/root"
if R2_BIN=$T/root/usr/sbin DEMO_NO_DEPS=1 timeout 180 bash "$top/scripts/demo.sh" \
	>"$T/demo.log" 2>&1 && grep -q SUCCESS "$T/demo.log"; then
	pass "demo from the extracted package (dpkg -x)"
else
	tail -30 "$T/demo.log"; bad "demo from the extracted package"
fi
exit $fail
