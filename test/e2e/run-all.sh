#!/bin/sh
# Runs every end-to-end test program; used natively (make check-native)
# and inside the lab VM.  Usage: run-all.sh DIR [PATTERN]
# DIR holds kvmshimd (or bin/kvmshimd) and test/e2e/t_* (or e2e/t_*).
dir=${1:?usage: run-all.sh DIR [PATTERN]}
pattern=${2:-t_*}
limit=${E2E_TIMEOUT:-600}

if [ -x "$dir/kvmshimd" ]; then bindir=$dir; else bindir=$dir/bin; fi
if [ -d "$dir/test/e2e" ]; then testdir=$dir/test/e2e; else testdir=$dir/e2e; fi
export KVMSHIMD="$bindir/kvmshimd"
export PATH="$bindir:$PATH"

if [ ! -c /dev/cuse ]; then
	echo "run-all.sh: no /dev/cuse here (use the lab VM: make check)" >&2
	exit 77
fi

passed=0
failed=0
failed_names=
for t in "$testdir"/$pattern; do
	[ -x "$t" ] || continue
	name=${t##*/}
	echo "=== $name"
	if timeout "$limit" "$t"; then
		passed=$((passed + 1))
	else
		echo "=== $name FAILED"
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
