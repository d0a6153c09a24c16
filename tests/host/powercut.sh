#!/usr/bin/env bash
# tests/host/powercut.sh [CYCLES]: power cuts under a writer (on the host; boots the
# VM CYCLES + 1 times on the same kept disk images). Each boot recovers the resource,
# verifies it against the writer's journal, then runs crashwriter until vm/run
# --kill-after SIGKILLs QEMU at a random moment while it writes; every fourth cycle
# cuts instead at a random moment of the boot's first seconds, mostly during
# recovery and verification, so that a recovery is itself interrupted. A last boot
# recovers, verifies, deletes cleanly and verifies the data disk itself. Ends with
#   crashtest: cycles C, acked writes verified W, losses L, never-written blocks K
# Exit status 0 when nothing acknowledged was lost and nothing never-written
# appeared, 1 when something was, 2 when a prerequisite is missing.
#
# Environment: MARS_CRASH_PLAIN=1 tests a plain resource (no transaction logger);
# MARS_POWERCUT_KILL="MIN MAX" the range of the cut, in seconds after the writer
# started (default "0.5 6"); MARS_POWERCUT_EARLY="MIN MAX" the range of the early
# cuts, in seconds after the guest command started (default "1 8");
# MARS_POWERCUT_DIR the work folder (inside the project; default build/powercut).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
cycles=${1:-5}
case $cycles in '' | *[!0-9]* | 0) echo "powercut: CYCLES must be a positive number" >&2; exit 2 ;; esac
work=${MARS_POWERCUT_DIR:-$top/build/powercut}
case $work in
"$top"/?*) ;;
*) echo "powercut: MARS_POWERCUT_DIR must be inside $top (the guest sees only the project)" >&2; exit 2 ;;
esac
read -r kmin kmax <<<"${MARS_POWERCUT_KILL:-0.5 6}"
read -r emin emax <<<"${MARS_POWERCUT_EARLY:-1 8}"
mode="logger"
[ "${MARS_CRASH_PLAIN:-0}" = 1 ] && mode="plain"

for f in kmod/mars.ko build/marsctl build/tools/crashwriter build/tools/crashverify; do
	[ -e "$f" ] || { echo "powercut: $f missing: run 'make all'" >&2; exit 2; }
done
command -v mkfs.ext4 >/dev/null || { echo "powercut: mkfs.ext4 missing" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work"
truncate -s 32M "$work/data.img"
truncate -s 128M "$work/log.img"
mkfs.ext4 -q -F "$work/log.img"
: >"$work/figures"

# figure NAME LINE: the number after NAME in a crashverify line.
figure() {
	sed -n "s/.*$1 \([0-9][0-9]*\).*/\1/p" <<<"$2"
}

# random_between MIN MAX: a random number of seconds, to a tenth.
random_between() {
	awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%.1f", a + (b - a) * r / 32767 }'
}

# issued: how many writes the journal says were issued so far.
issued() {
	awk '/^I / { n++ } END { print n + 0 }' "$work/journal" 2>/dev/null || echo 0
}

# totals CYCLES [NOTE]: the figures line. Losses and never-written blocks are summed
# over every verification; the acknowledged writes are those of the last one (it
# checks all of them again, cumulatively).
totals() {
	local line l k losses=0 never=0 verified
	while read -r line; do
		l=$(figure losses "$line")
		k=$(figure never-written "$line")
		losses=$((losses + ${l:-0}))
		never=$((never + ${k:-0}))
	done < <(grep 'crashverify:' "$work/figures")
	verified=$(figure 'acked writes verified' "$(grep 'crashverify:' "$work/figures" | tail -n 1)")
	echo "crashtest: cycles $1, acked writes verified ${verified:-0}, losses $losses," \
		"never-written blocks $never${2:+ ($2)}"
	[ "$losses" = 0 ] && [ "$never" = 0 ]
}

echo "powercut: $cycles cycles, $mode resource, cuts ${kmin}-${kmax} s after the writer started" \
	"(every fourth: ${emin}-${emax} s after the boot's command started)"
t_start=$(date +%s)
for ((i = 1; i <= cycles; i++)); do
	t0=$(date +%s)
	# A random moment with a tenth of a second resolution.
	if ((i % 4)); then
		kind=writing
		cut=$(random_between "$kmin" "$kmax")
		start=(--kill-start "$work/armed")
	else
		kind=early
		cut=$(random_between "$emin" "$emax")
		start=()
	fi
	rm -f "$work/armed"
	seed=$((RANDOM * 32768 + RANDOM))
	ops_before=$(issued)
	set +e
	vm/run --drive "$work/data.img" --drive "$work/log.img" --kill-after "$cut" "${start[@]}" \
		--timeout 300 -- tests/host/powercut-guest.sh write "$work" "$seed" >"$work/boot-$i.log" 2>&1
	st=$?
	set -e
	if [ "$st" != 243 ]; then
		cat "$work/boot-$i.log"
		echo "powercut: cycle $i: expected the power cut (vm/run status 243), got status $st"
		totals "$((i - 1))" "boot $i failed" || true
		exit 1
	fi
	ops=$(($(issued) - ops_before))
	echo "powercut: cycle $i: $kind cut at ${cut} s (seed $seed), $ops writes issued," \
		"$(($(date +%s) - t0)) s; $(grep -h '^powercut\[write\]: .* recovered' "$work/boot-$i.log" |
			sed 's/^powercut\[write\]: //')"
done

t0=$(date +%s)
set +e
vm/run --drive "$work/data.img" --drive "$work/log.img" --timeout 300 \
	-- tests/host/powercut-guest.sh final "$work" >"$work/boot-final.log" 2>&1
st=$?
set -e
cat "$work/figures"
total=$(($(date +%s) - t_start))
if [ "$st" != 0 ]; then
	cat "$work/boot-final.log"
	echo "powercut: the final boot failed (status $st)"
	totals "$cycles" "final boot failed" || true
	exit 1
fi
echo "powercut: $total s in all, $((total / (cycles + 1))) s per boot (final boot $(($(date +%s) - t0)) s)"
totals "$cycles"
