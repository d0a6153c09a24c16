#!/usr/bin/env bash
# tests/host/store-killloop.sh [ITERATIONS]: kill -9 a store writer at random moments
# and prove that every batch acknowledged before the kill is there after reopening,
# and that no batch is there in part. Runs on the host, no VM.
#
# Odd iterations: `marsctl put` in a loop (one key per batch, acknowledged by its
# output line). Even iterations: build/bench/store_bench stream (10 keys per batch,
# "ack N" after each commit). After each kill: `marsctl ls` must show every
# acknowledged key, and `store_bench verify` must find every batch whole or absent.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
iters=${1:-20}
marsctl=$top/build/marsctl
bench=$top/build/bench/store_bench
if [ ! -x "$marsctl" ] || [ ! -x "$bench" ]; then
	echo "killloop: run 'make userspace' first" >&2
	exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mars-killloop.XXXXXX")
trap 'rm -rf "$work"' EXIT
store=$work/store
export MARS_STORE_DIR=$store MARS_HOST=killer
puts=$work/puts.acked batches=$work/batches.acked
: >"$puts"
: >"$batches"
mkdir -p "$store"

writer_puts() {
	local i=$1 j=0
	while :; do
		j=$((j + 1))
		"$marsctl" put "/k/$i/$j" "v$i.$j" >/dev/null
		echo "/k/$i/$j = v$i.$j"
	done
}

for ((i = 1; i <= iters; i++)); do
	if ((i % 2)); then
		setsid bash -c "$(declare -f writer_puts); marsctl=$marsctl; writer_puts $i" \
			>>"$puts" 2>"$work/err" &
	else
		setsid "$bench" stream "$store/b" 10 >>"$batches" 2>"$work/err" &
	fi
	pid=$!
	sleep "0.$((RANDOM % 40 + 5))"
	kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	# every acknowledged put is there (a torn last line was not acknowledged)
	"$marsctl" ls /k/ >"$work/ls"
	grep -E '^/k/[0-9]+/[0-9]+ = v[0-9.]+$' "$puts" | sort >"$work/want" || true
	sort "$work/ls" >"$work/have"
	missing=$(comm -23 "$work/want" "$work/have" | head -n 3)
	if [ -n "$missing" ]; then
		echo "killloop: iteration $i: acknowledged puts missing after reopen: $missing" >&2
		exit 1
	fi
	if [ -e "$store/b/journal" ]; then
		if ! "$bench" verify "$store/b" 10 >"$work/present"; then
			echo "killloop: iteration $i: a partial batch: $(grep partial "$work/present")" >&2
			exit 1
		fi
		missing=$(sed -n 's/^ack //p' "$batches" | sort | comm -23 - <(sort "$work/present") |
			head -n 3)
		if [ -n "$missing" ]; then
			echo "killloop: iteration $i: acknowledged batches missing: $missing" >&2
			exit 1
		fi
	fi
done
np=$(grep -cE '^/k/' "$puts" || true)
nb=$(grep -c '^ack ' "$batches" || true)
echo "killloop: $iters kills; $np acknowledged puts and $nb acknowledged 10-key batches" \
	"all present after reopen, no partial batch"
