#!/usr/bin/env bats
# Proves durability at exact crash states, the method of xfstests generic/482 with our
# own tools: ONE RAM disk is recorded by dm-log-writes and split with dm-linear into
# the data device (8 MiB) and an ext4 filesystem for the logfiles (40 MiB), so the
# log records every write of both in the order it became durable. A workload runs
# on /dev/mars/r0 (crashwriter: plain writes with fdatasync/fsync, O_DSYNC and
# RWF_DSYNC FUA writes, a dm mark "ack:OP" after each acknowledgement), then the
# resource is deleted cleanly. For each crash point (FLUSH and FUA entries and ack
# marks; a sample of MARS_CRASH_POINTS, default 16, or "all"), replaylog rebuilds the
# disk as a power cut there would have left it, with the volatile cache lost; the
# ext4 is checked (e2fsck replays its journal), the resource is recovered (with the
# logger, dev create --log-dir replays the log) and crashverify proves that every
# write acknowledged before that point is there and that no block holds data never
# written. A second test proves the method catches a writer that acknowledges
# without syncing.
#
# MARS_CRASH_PLAIN=1 runs it on a plain resource (no logger): a self-test of the
# method. Without it, a missing logger fails the tests (see _crash.bash).

load _common
load _crash

MNT=/mnt/crashstates
DATA_SECTORS=16384 # 8 MiB of data device...
LOG_SECTORS=81920  # ...then 40 MiB of ext4 for the logfiles
BLOCKS=2048        # crashwriter's range: the whole data device
DISK_MB=48         # DATA + LOG

setup_file() {
	[ -f "$MARS_KO" ] || return 0
	mars_reset
}

teardown_file() {
	cs_cleanup
	suite_end
}

setup() {
	mars_setup
	require_vm
	[ -f "$MARS_KO" ] || skip "kmod/mars.ko is not built (make kmod)"
	[ -x "$CRASH_TOOLS/replaylog" ] || skip "build/tools is not built (make all)"
	command -v dmsetup >/dev/null || skip "dmsetup missing"
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing"
	modprobe dm-log-writes || skip "no dm-log-writes module in the guest kernel"
	grep -q '^brd ' /proc/modules && rmmod brd
	modprobe brd rd_nr=4 rd_size=65536 || skip "brd (RAM disk) module not available"
	mars_load
	mkdir -p "$MNT"
}

teardown() {
	local rc=0
	cs_cleanup || rc=1
	mars_teardown || rc=1
	return "$rc"
}

# cs_cleanup: what a (failed) test may have left: mount, mars devices, dm devices.
cs_cleanup() {
	local d rc=0
	# the logger holds its logfiles open: the resources go before the mount
	if grep -q '^mars ' /proc/modules; then
		for d in $("$MARSCTL" --json dev list | jq -r '.[]?.name?'); do
			timeout 60 "$MARSCTL" dev delete --force -- "$d" || rc=1
		done
	fi
	if mountpoint -q "$MNT"; then umount "$MNT" || rc=1; fi
	for d in crsdata crslog crdata crlog crlw; do
		if dmsetup info "$d" >/dev/null 2>&1; then dmsetup remove "$d" || rc=1; fi
	done
	return "$rc"
}

# split DEV DATA LOG: dm-linear devices DATA and LOG over the two parts of DEV (one
# dmsetup call for both: every command costs under TCG, and this runs per point).
split() {
	dmsetup create --concise \
		"$2,,,rw,0 $DATA_SECTORS linear $1 0;$3,,,rw,0 $LOG_SECTORS linear $1 $DATA_SECTORS"
}

# record_workload CRASHWRITER-ARGS...: the recording. /dev/ram0 is the recorded
# disk, /dev/ram1 receives the log-writes log. Journal: $BATS_TEST_TMPDIR/journal.
record_workload() {
	J=$BATS_TEST_TMPDIR/journal
	dmsetup create crlw --table "0 $(blockdev --getsz /dev/ram0) log-writes /dev/ram0 /dev/ram1"
	split "$(dm_dev crlw)" crdata crlog
	mkfs.ext4 -q -F -b 4096 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$(dm_dev crlog)"
	dmsetup message crlw 0 mark start
	mount "$(dm_dev crlog)" "$MNT"
	crash_create r0 "$(dm_dev crdata)" "$MNT/mars"
	crash_wait_dev /dev/mars/r0
	crash_check_logger r0
	"$CRASH_TOOLS/crashwriter" --dev /dev/mars/r0 --journal "$J" --blocks "$BLOCKS" \
		--dm-mark crlw "$@"
	"$MARSCTL" dev delete r0
	umount "$MNT"
	dmsetup remove crdata crlog
	dmsetup remove crlw # logs the unflushed writes and the mark dm-log-writes-end
}

# crash_points: the crash points after the mark "start", one per line:
# "ENTRY KIND UPTO", UPTO the newest op acknowledged (ack mark) up to ENTRY.
crash_points() {
	"$CRASH_TOOLS/replaylog" points /dev/ram1 | awk '
		$2 == "mark" && $3 == "start" { on = 1; next }
		!on { next }
		$2 == "mark" && $3 ~ /^ack:/ { upto = substr($3, 5); print $1, "ack", upto; next }
		$2 == "mark" && $3 == "dm-log-writes-end" { print $1, "end", upto + 0; next }
		$2 == "flush" || $2 == "fua" { print $1, $2, upto + 0 }'
}

# sample K: K lines of stdin, evenly spread, first and last included ("all": all).
sample() {
	if [ "$1" = all ]; then cat; return; fi
	awk -v k="$1" '{ l[NR] = $0 } END {
		if (NR <= k) { for (i = 1; i <= NR; i++) print l[i]; exit }
		for (i = 0; i < k; i++) { j = 1 + int(i * (NR - 1) / (k - 1) + 0.5); if (j != last) print l[j]; last = j } }'
}

# check_point ENTRY KIND UPTO: rebuild the disk as of log entry ENTRY on /dev/ram3
# (replaying incrementally on /dev/ram2, which starts as /dev/ram0 started: zeros),
# check the ext4, recover the resource and verify it. Prints one figures line.
# REPLAYED holds the last entry replayed onto /dev/ram2. After a failure, what the
# point set up is taken down, so that the next points still run.
check_point() {
	local rc=0
	_check_point "$@" || rc=$?
	if [ "$rc" != 0 ]; then
		# the logger holds its logfiles open: the resource goes before the mount
		if [ -e /dev/mars/r0 ]; then "$MARSCTL" dev delete --force r0 2>/dev/null; fi
		if mountpoint -q "$MNT"; then umount "$MNT"; fi
		dmsetup remove crsdata crslog 2>/dev/null
	fi
	return "$rc"
}

_check_point() {
	local entry=$1 kind=$2 upto=$3 out rc data log
	if [ "$entry" -gt "$REPLAYED" ]; then
		"$CRASH_TOOLS/replaylog" replay /dev/ram1 /dev/ram2 --from $((REPLAYED + 1)) \
			--to "$entry" >/dev/null || return 1
		REPLAYED=$entry
	fi
	dd if=/dev/ram2 of=/dev/ram3 bs=1M count="$DISK_MB" iflag=direct oflag=direct 2>/dev/null ||
		return 1
	split /dev/ram3 crsdata crslog || return 1
	data=$(dm_dev crsdata) && log=$(dm_dev crslog) || return 1
	# journal recovery, and a full check only if ext4 finds a reason for one
	e2fsck -p "$log" >"$BATS_TEST_TMPDIR/fsck.out" 2>&1
	rc=$?
	if [ "$rc" -gt 1 ]; then
		cat "$BATS_TEST_TMPDIR/fsck.out"
		echo "crashstates: entry $entry: e2fsck status $rc on the log filesystem"
		return 1
	fi
	mount "$log" "$MNT" || return 1
	if ! crash_create r0 "$data" "$MNT/mars"; then
		echo "crashstates: entry $entry ($kind): recovery failed"
		return 1
	fi
	crash_wait_dev /dev/mars/r0 || return 1
	crash_check_logger r0 >/dev/null || return 1
	out=$("$CRASH_TOOLS/crashverify" --dev /dev/mars/r0 --journal "$J" --blocks "$BLOCKS" \
		--acked-upto "$upto")
	rc=$?
	echo "crashstates: entry $entry ($kind, acked up to op $upto): ${out//$'\n'/$'\n'  }"
	"$MARSCTL" dev delete r0 || return 1
	umount "$MNT" || return 1
	dmsetup remove crsdata crslog || return 1
	return "$rc"
}

# figure NAME LINES: the sum of the numbers after NAME in crashverify lines.
figure() {
	sed -n "s/.*crashverify: .*$1 \([0-9][0-9]*\).*/\1/p" <<<"$2" | awk '{ s += $1 } END { print s + 0 }'
}

@test "every sampled crash point keeps what was acknowledged before it, nothing never written" {
	t0=$SECONDS
	record_workload --ops "${MARS_CRASH_OPS:-300}" --seed 4242 --dsync-pct 25 --sync-every 6
	crash_points >"$BATS_TEST_TMPDIR/points"
	total=$(wc -l <"$BATS_TEST_TMPDIR/points")
	echo "# crashstates: $(crash_mode) resource; $total crash points in the log," \
		"recorded in $((SECONDS - t0)) s" >&3
	[ "$total" -gt 10 ]
	sample "${MARS_CRASH_POINTS:-16}" <"$BATS_TEST_TMPDIR/points" >"$BATS_TEST_TMPDIR/sample"
	# the end, after the clean delete: everything acknowledged is there
	grep -q ' end ' "$BATS_TEST_TMPDIR/sample"
	REPLAYED=0
	t0=$SECONDS
	failed=0
	checked=0
	report=
	while read -r entry kind upto; do
		# not in $(...): check_point advances REPLAYED
		check_point "$entry" "$kind" "$upto" >"$BATS_TEST_TMPDIR/line" || failed=$((failed + 1))
		cat "$BATS_TEST_TMPDIR/line"
		report+=$(<"$BATS_TEST_TMPDIR/line")$'\n'
		checked=$((checked + 1))
	done <"$BATS_TEST_TMPDIR/sample"
	verified=$(figure 'acked writes verified' "$report")
	losses=$(figure losses "$report")
	never=$(figure never-written "$report")
	t=$((SECONDS - t0))
	echo "# crashstates: $checked points checked in $t s, $((t / (checked ? checked : 1))) s per point" >&3
	echo "# crashtest: cycles $checked, acked writes verified $verified, losses $losses," \
		"never-written blocks $never" >&3
	[ "$failed" -eq 0 ]
	[ "$checked" -eq "$(wc -l <"$BATS_TEST_TMPDIR/sample")" ]
	[ "$losses" -eq 0 ] && [ "$never" -eq 0 ]
	# the last point saw every write of the run acknowledged
	acked=$(grep -c '^I ' "$J")
	[[ "$(tail -n 2 <<<"$report")" == *"acked writes verified $acked, losses 0"* ]]
}

@test "the method catches a writer that acknowledges without syncing" {
	record_workload --ops 40 --seed 77 --dsync-pct 25 --sync-every 4 --lie
	crash_points | awk '$2 == "ack"' | head -n 3 >"$BATS_TEST_TMPDIR/points"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/points")" -eq 3 ]
	REPLAYED=0
	caught=0
	while read -r entry kind upto; do
		if ! check_point "$entry" "$kind" "$upto" >"$BATS_TEST_TMPDIR/line"; then
			grep -q 'LOSS block' "$BATS_TEST_TMPDIR/line" && caught=$((caught + 1))
		fi
		cat "$BATS_TEST_TMPDIR/line"
	done <"$BATS_TEST_TMPDIR/points"
	echo "# crashstates: the lying writer was caught at $caught of 3 points" >&3
	[ "$caught" -gt 0 ]
}
