#!/usr/bin/env bash
# tests/host/powercut-guest.sh PHASE WORKDIR [SEED]: the guest side of one boot of the
# power-cut test (tests/host/powercut.sh boots the VM with the kept disks: /dev/vda
# holds the data, /dev/vdb an ext4 filesystem for the logfiles). WORKDIR is in the
# project folder: the writer's journal (WORKDIR/journal) and the figures
# (WORKDIR/figures) reach the host at once over 9p, and survive the power cut.
#
#   write  recover (create the resource: with the logger, that replays the log),
#          verify against the journal, record what recovery found as durable, then
#          create WORKDIR/armed and run crashwriter until vm/run --kill-after cuts
#          the power
#   final  recover, verify, delete cleanly (the logger drains its log), verify the
#          data disk itself, unload the module
#
# Exit status 1 when a check fails (the host sees it instead of the power cut).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export MARS_TOP=$top
# shellcheck source=tests/bats/_crash.bash
. "$top/tests/bats/_crash.bash"

phase=${1:?usage: powercut-guest.sh write|final WORKDIR [SEED]}
work=${2:?usage: powercut-guest.sh write|final WORKDIR [SEED]}
seed=${3:-}
journal=$work/journal
logmnt=/mnt/marslog
dev=/dev/mars/r0
blocks=4096 # 16 MiB of the data disk

say() {
	echo "powercut[$phase]: $*"
}

insmod "$top/kmod/mars.ko"
mkdir -p "$logmnt"
mount /dev/vdb "$logmnt" # ext4 journal recovery after the last cut
t0=$(date +%s.%N)
if ! crash_create r0 /dev/vda "$logmnt/mars"; then
	say "FAILED: creating (recovering) the resource in $(crash_mode) mode"
	exit 1
fi
crash_wait_dev "$dev"
say "$(crash_mode) resource recovered in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
crash_check_logger r0

if [ -s "$journal" ]; then
	record=
	[ "$phase" = write ] && record=--record
	if ! "$CRASH_TOOLS/crashverify" --dev "$dev" --journal "$journal" $record >"$work/verify.out"; then
		cat "$work/verify.out"
		echo "$phase: $(tail -n 1 "$work/verify.out")" >>"$work/figures"
		say "FAILED: verification after recovery"
		exit 1
	fi
	cat "$work/verify.out"
	echo "$phase: $(tail -n 1 "$work/verify.out")" >>"$work/figures"
fi

# prune_logs: with the logger, delete the logfiles below the writeback checkpoint
# (after a recovery, the replay end: everything before it is on the data disk and
# flushed), keeping the newest two, as the controller would (architecture.md, 7.4).
# Without it every recovery would replay every earlier cycle, and a long loop would
# fill the log disk. A checkpoint that is wrong shows up as a loss at the next cut.
prune_logs() {
	local wb dir f seq pruned=0 files=()
	[ "$(crash_mode)" = logger ] || return 0
	wb=$("$MARSCTL" --json dev list | jq -r '.[] | select(.name == "r0") | .log.wb_seq')
	case $wb in '' | *[!0-9]*) say "not pruning logfiles: wb_seq is '$wb'"; return 0 ;; esac
	dir=$logmnt/mars/resource-r0
	mapfile -t files < <(find "$dir" -maxdepth 1 -name 'log-[0-9]*-*' -printf '%f\n' | sort)
	((${#files[@]} > 2)) || return 0
	for f in "${files[@]:0:${#files[@]}-2}"; do
		seq=$((10#${f:4:9}))
		[ "$seq" -lt "$wb" ] || continue
		rm -- "$dir/$f"
		pruned=$((pruned + 1))
	done
	sync "$dir"
	say "pruned $pruned logfiles below the writeback checkpoint $wb, ${#files[@]} were there"
}

case $phase in
write)
	prune_logs
	say "writing until the power cut"
	# vm/run --kill-start: the host's countdown to the cut starts now.
	: >"$work/armed"
	"$CRASH_TOOLS/crashwriter" --dev "$dev" --journal "$journal" --blocks "$blocks" \
		${seed:+--seed "$seed"}
	say "FAILED: crashwriter stopped before the power cut"
	exit 1
	;;
final)
	"$MARSCTL" dev delete r0
	gone=0
	for _ in $(seq 100); do
		[ -e "$dev" ] || { gone=1; break; }
		sleep 0.1
	done
	[ "$gone" = 1 ] || { say "FAILED: $dev still there after delete"; exit 1; }
	# After a clean delete everything acknowledged is on the data disk itself.
	if [ -s "$journal" ]; then
		if ! "$CRASH_TOOLS/crashverify" --dev /dev/vda --journal "$journal" >"$work/verify.out"; then
			cat "$work/verify.out"
			say "FAILED: the data disk after a clean delete"
			exit 1
		fi
		cat "$work/verify.out"
		echo "data disk after delete: $(tail -n 1 "$work/verify.out")" >>"$work/figures"
	fi
	umount "$logmnt"
	rmmod mars
	say "done"
	;;
*)
	say "unknown phase"
	exit 2
	;;
esac
