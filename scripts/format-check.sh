#!/usr/bin/env bash
# Fails (and lists the files) when a C source differs from what
# clang-format makes of it with the repository's .clang-format.
# Fix with: scripts/format-check.sh --fix
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
if git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find src tests tools bench -name '*.[ch]' 2>/dev/null)
fi
if [ "${1:-}" = --fix ]; then
	echo "$files" | xargs clang-format -i
	exit 0
fi
bad=0
for f in $files; do
	if ! clang-format "$f" | cmp -s - "$f"; then
		echo "not formatted: $f"
		bad=$((bad + 1))
	fi
done
if [ $bad -eq 0 ]; then
	echo "PASS: clang-format: $(echo "$files" | wc -w) C files formatted"
else
	echo "FAIL: clang-format: $bad file(s) differ (scripts/format-check.sh --fix)"
	exit 1
fi
