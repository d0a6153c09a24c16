#!/usr/bin/env bats
# Proves issue 4's transaction logger in the VM: every write is logged before it
# is written back; reads see the newest data during writeback; FUA writes and
# FLUSHes are durable in the log (a copy of the logfiles taken right after them,
# a "crash image", replays them onto a zeroed data device); a torn tail ends
# replay cleanly, mid-file corruption stops it with file and offset and no device;
# rotation under load; emergency mode on a full log filesystem never fails a
# write, and leaving it continues in file N+2 after a GAP record; a replay runs
# outside the registry lock: status shows its progress meanwhile and delete is
# refused; bad input.
# Issue 5's logger parts: the live tunables wb_rate_kib (writeback drains at
# about the rate, a raised rate drains at once, a delete is never paced),
# wb_depth and log_commit_us change measured behaviour; the logger's
# tracepoints carry the documented fields (tracefs) and the bpftrace recipes of
# docs/observability.md attach and report.

load _common
load _logged

SLOW=mars-slow	# dm-delay over $DATA: a replay slow enough to watch

teardown() {
	local rc=0
	# a create that still replays cannot be deleted: let it finish (a failed test)
	for _ in $(seq 600); do
		"$MARSCTL" --json dev list 2>/dev/null |
			jq -e 'any(.[]?; .state | index("creating"))' >/dev/null || break
		sleep 0.1
	done
	for n in $("$MARSCTL" --json dev list 2>/dev/null | jq -r '.[]?.name?'); do
		timeout 60 "$MARSCTL" dev delete --force "$n" || rc=1
	done
	if dmsetup info "$SLOW" >/dev/null 2>&1; then
		dmsetup remove "$SLOW" || rc=1
	fi
	if [ -e /sys/fs/bpf/mars/mars_gtun ] && grep -q '^mars ' /proc/modules; then
		"$MARSCTL" tune replay_depth=default || rc=1
	fi
	mountpoint -q "$LOGMNT" && { umount "$LOGMNT" || rc=1; }
	mars_teardown || rc=1
	return "$rc"
}

# bt PROGRAM COMMANDS: run bpftrace PROGRAM while a shell script of COMMANDS runs
# (bpftrace -c takes no shell syntax, so the commands go into a script, run by sh:
# the test's tmp folder may be noexec). The output also goes to the TAP stream
# (docs/observability.md shows it).
bt() {
	command -v bpftrace >/dev/null || skip "bpftrace is not installed"
	printf 'set -e\nPATH=%s\n%s\n' "$PATH" "$2" >"$BATS_TEST_TMPDIR/bt.sh"
	run timeout 180 bpftrace -e "$1" -c "$(readlink -f /bin/sh) $BATS_TEST_TMPDIR/bt.sh"
	tap_note <<<"$output"
	[ "$status" -eq 0 ]
}

logfile() {
	printf '%s/log-%09d-%s' "$(logdir)" "$1" "$H"
}

# lfield FIELD: a field of r0's "log" object in dev list --json.
lfield() {
	"$MARSCTL" --json dev list | jq -r ".[] | select(.name == \"r0\") | .log.$1"
}

# crash_image DIR: copy the logfiles as they are now (what a power cut leaves,
# plus possibly records written but not yet synced, which replay may apply too).
crash_image() {
	rm -rf "$1"
	cp -a "$(logdir)" "$1"
}

# restore_image DIR: the state after a power cut that lost the data device's
# cache: logfiles from DIR, a zeroed data device.
restore_image() {
	timeout 60 "$MARSCTL" dev delete --force r0
	wait_gone /dev/mars/r0
	dd if=/dev/zero of="$DATA" bs=1M count=64 status=none
	rm -rf "$(logdir)"
	cp -a "$1" "$(logdir)"
}

pattern() {
	# pattern FILE MiB SEED: deterministic data
	python3 -c 'import random,sys; r=random.Random(int(sys.argv[2])); sys.stdout.buffer.write(r.randbytes(int(sys.argv[1])<<20))' \
		"$2" "$3" >"$1"
}

# same_as FILE OFFSET_MiB: /dev/mars/r0 holds FILE at OFFSET.
same_as() {
	local mb
	mb=$(($(stat -c %s "$1") >> 20))
	cmp <(dd if=/dev/mars/r0 bs=1M skip="$2" count="$mb" iflag=direct status=none) "$1"
}

@test "every write is logged: records in the logfile, state in dev list" {
	log_fs
	lcreate
	[ -f "$(logfile 1)" ]
	[ "$(stat -c %a "$(logdir)")" = 700 ]
	[ "$(stat -c %a "$(logfile 1)")" = 600 ]
	pattern "$BATS_TEST_TMPDIR/p" 1 1
	dd if="$BATS_TEST_TMPDIR/p" of=/dev/mars/r0 bs=4k oflag=direct,dsync status=none
	[ "$(lfield seq)" = 1 ]
	# 256 records of 48 + 4096 bytes after the 192-byte header, all durable (dsync)
	[ "$(lfield durable)" -ge $((192 + 256 * 4144)) ]
	run "$MARSCTL" --json log dump "$(logfile 1)" --no-records
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome.outcome <<<"$output")" = clean_open ]
	same_as "$BATS_TEST_TMPDIR/p" 0
	run "$MARSCTL" dev list
	[[ "$output" == *"log: file 000000001"* ]]
}

@test "reads see the newest data while writeback runs (fio verify with backlog)" {
	log_fs
	lcreate
	# Verify blocks soon after writing them (many still in shadow buffers), while
	# a second job reads the same range, then verify everything at the end.
	run fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bs=4k --size=16M --verify=crc32c --verify_fatal=1 \
		--verify_backlog=64 --name=r --filename=/dev/mars/r0 --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randread --bs=16k --size=16M --runtime=10 \
		--time_based=0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"verify: bad"* ]]
	# Writeback catches up: nothing pending, checkpoint at the durable end.
	for _ in $(seq 100); do
		[ "$(lfield wb_pending)" = 0 ] && break
		sleep 0.1
	done
	[ "$(lfield wb_pending)" = 0 ]
}

@test "FUA writes and FLUSHes are durable in the log: a crash image replays them" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 2 2
	pattern "$BATS_TEST_TMPDIR/b" 2 3
	# a: FUA writes (O_DSYNC on O_DIRECT)
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	# b: plain writes, then fdatasync (a FLUSH)
	dd if="$BATS_TEST_TMPDIR/b" of=/dev/mars/r0 bs=64k seek=64 oflag=direct conv=fdatasync \
		status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	restore_image "$BATS_TEST_TMPDIR/img"
	# the zeroed data device really lost the data
	run cmp <(dd if="$DATA" bs=1M count=2 status=none) "$BATS_TEST_TMPDIR/a"
	[ "$status" -ne 0 ]
	lcreate
	[[ "$output" == *"replayed"* ]]
	same_as "$BATS_TEST_TMPDIR/a" 0
	same_as "$BATS_TEST_TMPDIR/b" 4
	# replay went on in a new file
	[ "$(lfield seq)" = 2 ]
}

@test "a torn tail ends replay cleanly; the records before it are replayed" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 1 4
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	f=$BATS_TEST_TMPDIR/img/$(basename "$(logfile 1)")
	size=$(stat -c %s "$f")
	# cut the last 64 KiB record in half: its write was never acknowledged
	truncate -s $((size - 32768)) "$f"
	restore_image "$BATS_TEST_TMPDIR/img"
	lcreate
	dmesg | tail -20 | grep -q 'torn tail'
	# the first 15 of 16 records are back, the torn one is not
	cmp <(dd if=/dev/mars/r0 bs=64k count=15 iflag=direct status=none) \
		<(head -c $((15 * 65536)) "$BATS_TEST_TMPDIR/a")
	run cmp <(dd if=/dev/mars/r0 bs=64k skip=15 count=1 iflag=direct status=none) \
		<(tail -c 65536 "$BATS_TEST_TMPDIR/a")
	[ "$status" -ne 0 ]
}

@test "corruption in the middle of a closed logfile stops recovery: file, offset, no device" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 1 5
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	run "$MARSCTL" log rotate r0
	echo "$output"
	[ "$status" -eq 0 ]
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k seek=32 oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	f=$BATS_TEST_TMPDIR/img/$(basename "$(logfile 1)")
	# flip one payload byte of the third record (offset 192 + 2 * (48 + 65536) + 100)
	off=$((192 + 2 * 65584 + 100))
	printf '\x5a' | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
	restore_image "$BATS_TEST_TMPDIR/img"
	trace_on replay_stop
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --io bio --log-dir "$LOGMNT"
	echo "$output"
	trace_off
	[ "$status" -ne 0 ]
	[[ "$output" == *"log-000000001-$H: bad_crc"*"at offset $((192 + 2 * 65584))"* ]]
	# mars:replay_stop says the same. Every file may end torn (a crash, then a
	# recovery that went on in the next file), so the scan first takes the bad
	# record for file 1's torn tail (end, 1; torn_tail, 5); file 2's first
	# record number proves it is not the end: corrupt (6), EUCLEAN
	run grep -v '^#' "$T/trace"
	tap_note <<<"$output"
	[[ "$output" == *"replay_stop: res=r0 res_id=0 reason=1 log_seq=1 off=$((192 + 2 * 65584)) outcome=5 error=0"* ]]
	[[ "$output" == *"replay_stop: res=r0 res_id=0 reason=6 log_seq=1 off=$((192 + 2 * 65584)) outcome=5 error=-117"* ]]
	[ ! -e /dev/mars/r0 ]
	[ "$(dev_count)" = 0 ]
	# nothing was applied: the data device is still zero
	cmp <(dd if="$DATA" bs=1M count=4 status=none) <(head -c 4M /dev/zero)
	# --no-replay is the explicit way out (acknowledged writes may be lost)
	lcreate --no-replay
}

@test "rotation under load: consecutive files, each closed with EOF, data verifies" {
	log_fs
	lcreate
	fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bs=4k --size=24M --verify=crc32c --verify_fatal=1 \
		--do_verify=0 --verify_state_save=0 --rate=6m >"$BATS_TEST_TMPDIR/fio.out" 2>&1 &
	pid=$!
	for _ in 1 2 3; do
		sleep 1
		run "$MARSCTL" log rotate r0
		echo "$output"
		[ "$status" -eq 0 ]
	done
	wait "$pid"
	run fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bs=4k --size=24M --verify=crc32c --verify_fatal=1 \
		--verify_only --verify_state_save=0
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(lfield seq)" = 4 ]
	for n in 1 2 3; do
		run "$MARSCTL" --json log dump "$(logfile "$n")" --no-records
		[ "$status" -eq 0 ]
		[ "$(jq -r .outcome.outcome <<<"$output")" = clean_eof ]
	done
}

@test "emergency mode: a full log filesystem fails no write; data verifies; leaving needs space" {
	log_fs 48M
	lcreate
	# 48 MiB of writes cannot fit into a 48 MiB filesystem less the 16 MiB threshold
	run fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=write --bs=256k --size=48M --verify=crc32c --verify_fatal=1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(lfield emergency)" = true ]
	dmesg | grep -q 'r0: entering emergency mode (log filesystem full)'
	last=$(lfield seq)
	run "$MARSCTL" --json log dump "$(logfile "$last")" --no-records
	[ "$(jq -r .outcome.outcome <<<"$output")" = clean_eof ]
	# leaving is refused while the log filesystem is short of 2 * 16 MiB
	run "$MARSCTL" log emergency r0 leave
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"leaving needs"* ]]
	# the controller deletes fully written back logfiles; then leaving works
	rm -f "$(logdir)"/log-*
	run "$MARSCTL" log emergency r0 leave
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(lfield emergency)" = false ]
	new=$((last + 2))
	[ "$(lfield seq)" = "$new" ]
	run "$MARSCTL" --json log dump "$(logfile "$new")"
	echo "$output"
	[ "$(jq -r '.records[0].type' <<<"$output")" = GAP ]
	run fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=write --bs=256k --size=48M --verify=crc32c --verify_fatal=1 --verify_only
	[ "$status" -eq 0 ]
}

@test "entering emergency mode by hand, then a restart continues in file N+2" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 1 6
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct status=none
	run "$MARSCTL" log emergency r0 enter
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(lfield emergency)" = true ]
	# writes now pass straight to the data device
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k seek=16 oflag=direct status=none
	cmp <(dd if="$DATA" bs=1M skip=1 count=1 status=none) "$BATS_TEST_TMPDIR/a"
	timeout 60 "$MARSCTL" dev delete r0
	wait_gone /dev/mars/r0
	lcreate
	# file 1 ended with EOF(EMERGENCY): no replay over the bypassing writes
	[ "$(lfield seq)" = 3 ]
	same_as "$BATS_TEST_TMPDIR/a" 0
	same_as "$BATS_TEST_TMPDIR/a" 1
	run "$MARSCTL" --json log dump "$(logfile 3)"
	[ "$(jq -r '.records[0].type' <<<"$output")" = GAP ]
}

@test "a failed log write: emergency without EOF; recovery starts at the GAP file" {
	local f
	log_fs
	lcreate
	for f in a b c d; do pattern "$BATS_TEST_TMPDIR/$f" 1 "$(printf '%d' "'$f")"; done
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	# The next log write fails (EPERM on an immutable file): no EOF can end file 1.
	chattr +i "$(logfile 1)"
	dd if="$BATS_TEST_TMPDIR/b" of=/dev/mars/r0 bs=64k oflag=direct status=none
	for _ in $(seq 100); do
		[ "$(lfield emergency)" = true ] && break
		sleep 0.1
	done
	chattr -i "$(logfile 1)"
	[ "$(lfield emergency)" = true ]
	dmesg | grep -q 'r0: entering emergency mode (log write failed)'
	# b was drained to the data device; c passes straight through
	dd if="$BATS_TEST_TMPDIR/c" of=/dev/mars/r0 bs=64k seek=16 oflag=direct status=none
	run "$MARSCTL" log emergency r0 leave
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(lfield seq)" = 3 ]
	dd if="$BATS_TEST_TMPDIR/d" of=/dev/mars/r0 bs=64k seek=32 oflag=direct,dsync status=none
	run "$MARSCTL" --json log dump "$(logfile 1)" --no-records
	echo "$output"
	[ "$(jq -r .outcome.outcome <<<"$output")" != clean_eof ]
	crash_image "$BATS_TEST_TMPDIR/img"
	# A power cut: the data device keeps what was flushed (a, b, c); d is only in
	# file 3. Recovery from file 1 must not replay a over b.
	timeout 60 "$MARSCTL" dev delete --force r0
	wait_gone /dev/mars/r0
	dd if=/dev/zero of="$DATA" bs=1M seek=2 count=1 conv=notrunc status=none
	rm -rf "$(logdir)"
	cp -a "$BATS_TEST_TMPDIR/img" "$(logdir)"
	lcreate
	same_as "$BATS_TEST_TMPDIR/b" 0
	same_as "$BATS_TEST_TMPDIR/c" 1
	same_as "$BATS_TEST_TMPDIR/d" 2
}

@test "a clean delete drains and ends the file with EOF(DRAINED); the next create replays nothing" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 1 7
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct status=none
	timeout 60 "$MARSCTL" dev delete r0
	wait_gone /dev/mars/r0
	cmp <(dd if="$DATA" bs=1M count=1 status=none) "$BATS_TEST_TMPDIR/a"
	run "$MARSCTL" --json log dump "$(logfile 1)"
	[ "$(jq -r '.outcome.outcome' <<<"$output")" = clean_eof ]
	[ "$(jq -r '.records[-1].type' <<<"$output")" = EOF ]
	[[ "$(jq -r '.records[-1].flags | join(",")' <<<"$output")" == *DRAINED* ]]
	# overwrite the data device behind mars's back: a replay would undo this
	dd if=/dev/zero of="$DATA" bs=1M count=1 status=none
	lcreate
	[[ "$output" != *"replayed"* ]]
	cmp <(dd if=/dev/mars/r0 bs=1M count=1 iflag=direct status=none) <(head -c 1M /dev/zero)
}

@test "memory is bounded: at buf_max_mb writers wait, none fails, data verifies" {
	log_fs
	lcreate
	"$MARSCTL" maps attach
	"$MARSCTL" tune r0 buf_max_mb=16
	for _ in $(seq 50); do
		[ "$(lfield buf_limit)" = $((16 << 20)) ] && break
		sleep 0.1
	done
	[ "$(lfield buf_limit)" = $((16 << 20)) ]
	fio --name=w --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=write --bs=1M --size=48M --verify=crc32c --verify_fatal=1 \
		>"$BATS_TEST_TMPDIR/fio.out" 2>&1 &
	pid=$!
	max=0
	while kill -0 "$pid" 2>/dev/null; do
		p=$(lfield wb_pending)
		[ "$p" -gt "$max" ] && max=$p
		sleep 0.05
	done
	wait "$pid"
	echo "most buffered: $max bytes"
	# the bound, plus at most one 1 MiB request per queue slot that raced it
	[ "$max" -le $(((16 + 8) << 20)) ]
	"$MARSCTL" tune r0 buf_max_mb=default
}

@test "a crash right after a recovery (a file holding only its header) keeps the numbering" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 1 8
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img1"
	restore_image "$BATS_TEST_TMPDIR/img1"
	lcreate
	# crash again at once: file 2 holds only its header
	crash_image "$BATS_TEST_TMPDIR/img2"
	restore_image "$BATS_TEST_TMPDIR/img2"
	lcreate
	[ "$(lfield seq)" = 3 ]
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k seek=16 oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img3"
	restore_image "$BATS_TEST_TMPDIR/img3"
	lcreate
	run "$MARSCTL" --json log dump "$(logfile 3)" --no-records
	first=$(jq -r .header.first_rec_seq <<<"$output")
	run "$MARSCTL" --json log dump "$(logfile 1)"
	[ "$first" = $(($(jq -r '.records[-1].rec_seq' <<<"$output") + 1)) ]
	same_as "$BATS_TEST_TMPDIR/a" 0
	same_as "$BATS_TEST_TMPDIR/a" 1
}

@test "bad input: a clear error and nothing changes" {
	log_fs
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --io bio --log-dir /nonexistent
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a directory"* ]]
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --log-dir "$LOGMNT" --replay-from x
	[ "$status" -eq 2 ]
	[[ "$output" == *"SEQ:OFFSET"* ]]
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --log-dir "$LOGMNT" --replay-from 7:4096
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"logfile 7 does not exist"* || "$output" == *"checkpoint"* ]]
	[ "$(dev_count)" = 0 ]
	"$MARSCTL" dev create p0 --data "$DATA" --io bio
	run "$MARSCTL" log rotate p0
	[ "$status" -eq 1 ]
	[[ "$output" == *"has no logger"* ]]
	run "$MARSCTL" log emergency p0 sideways
	[ "$status" -eq 2 ]
}

dev_count() {
	"$MARSCTL" --json dev list | jq length
}

T=/sys/kernel/tracing

# trace_on EVENT...: a clean trace buffer with only these mars events enabled.
trace_on() {
	echo 0 >"$T/events/mars/enable"
	echo >"$T/trace"
	for e in "$@"; do
		echo 1 >"$T/events/mars/$e/enable"
	done
}

trace_off() {
	echo 0 >"$T/events/mars/enable"
}

# eff KEY: r0's effective tunable KEY (as the module applies it).
eff() {
	"$MARSCTL" --json tune r0 | jq -r ".effective.$1"
}

# tune_r0 KEY=VALUE EXPECTED: set a tunable of r0, wait until the module applies it.
tune_r0() {
	"$MARSCTL" tune r0 "$1"
	for _ in $(seq 50); do
		[ "$(eff "${1%%=*}")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "tune $1: effective value is $(eff "${1%%=*}"), not $2" >&2
	return 1
}

# wait_drained SECONDS: wb_pending of r0 reaches 0 within SECONDS (tenths polled).
wait_drained() {
	for _ in $(seq $(($1 * 10))); do
		[ "$(lfield wb_pending)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# now_ms: a monotonic clock in ms.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "wb_rate_kib paces writeback live: about the rate while low, at once when raised" {
	log_fs
	lcreate
	"$MARSCTL" maps attach
	tune_r0 wb_rate_kib=1024 1024
	pattern "$BATS_TEST_TMPDIR/a" 16 11
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct status=none
	p0=$(lfield wb_pending)
	sleep 4
	p1=$(lfield wb_pending)
	drained=$((p0 - p1))
	echo "pending $p0 -> $p1 bytes in 4 s at 1024 KiB/s: $drained bytes drained" | tap_note
	# 4 s at 1 MiB/s is 4 MiB; generous bounds (TCG, 100 ms publishing, batches
	# of 250 ms of the rate). Unpaced writeback would drain all 16 MiB.
	[ "$drained" -ge $((1 << 20)) ]
	[ "$drained" -le $((8 << 20)) ]
	[ "$p1" -ge $((4 << 20)) ]
	# Raised mid-run: the rest (p1 bytes, p1 / 1 MiB seconds at the old rate)
	# drains in less than half that.
	t0=$(now_ms)
	"$MARSCTL" tune r0 wb_rate_kib=unlimited
	wait_drained 30
	t=$(($(now_ms) - t0))
	echo "after raising the rate: $p1 bytes drained in $t ms" | tap_note
	[ "$t" -lt $((p1 * 1000 / (1 << 20) / 2)) ]
	same_as "$BATS_TEST_TMPDIR/a" 0
	cmp <(dd if="$DATA" bs=1M count=16 iflag=direct status=none) "$BATS_TEST_TMPDIR/a"
}

@test "a delete is never paced by wb_rate_kib: it drains at full speed" {
	log_fs
	lcreate
	"$MARSCTL" maps attach
	tune_r0 wb_rate_kib=1 1
	pattern "$BATS_TEST_TMPDIR/a" 4 12
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct status=none
	sleep 1
	# 1 KiB/s: paced, 4 MiB would take more than an hour
	[ "$(lfield wb_pending)" -ge $((3 << 20)) ]
	t0=$(now_ms)
	timeout 60 "$MARSCTL" dev delete r0
	t=$(($(now_ms) - t0))
	echo "delete of 4 MiB buffered at wb_rate_kib=1 took $t ms" | tap_note
	[ "$t" -lt 30000 ]
	wait_gone /dev/mars/r0
	cmp <(dd if="$DATA" bs=1M count=4 iflag=direct status=none) "$BATS_TEST_TMPDIR/a"
	run "$MARSCTL" --json log dump "$(logfile 1)"
	[[ "$(jq -r '.records[-1].flags | join(",")' <<<"$output")" == *DRAINED* ]]
}

# wb_inflight_max: the largest inflight of the writeback events in the trace.
wb_inflight_max() {
	grep -o 'writeback: .* inflight=[0-9]*' "$T/trace" | sed 's/.*inflight=//' | sort -n | tail -1
}

@test "wb_depth bounds the writeback writes in flight (writeback events)" {
	log_fs
	# sio: completions come from its threads, so writes overlap (brd under bio
	# completes each write before the next is submitted)
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --io sio --log-dir "$LOGMNT"
	[ "$status" -eq 0 ]
	"$MARSCTL" maps attach
	tune_r0 wb_depth=1 1
	trace_on writeback
	dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=512 oflag=direct status=none
	wait_drained 30
	trace_off
	max1=$(wb_inflight_max)
	tune_r0 wb_depth=default 64
	trace_on writeback
	dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=512 oflag=direct status=none
	wait_drained 30
	trace_off
	max64=$(wb_inflight_max)
	echo "most writeback writes in flight: $max1 at wb_depth=1, $max64 at 64" | tap_note
	[ "$max1" = 1 ]
	[ "$max64" -gt 1 ]
	[ "$max64" -le 64 ]
}

# commit_gaps: per log_commit event that synced, ms since the log_append before it.
commit_gaps() {
	awk '/log_append:/ { a = $4 + 0 } /log_commit:.* synced=1/ && a { printf "%d\n", ($4 - a) * 1000; a = 0 }' \
		"$T/trace"
}

@test "log_commit_us: records wait that long for company before their sync" {
	log_fs
	lcreate
	"$MARSCTL" maps attach
	for us in 10000 0; do
		tune_r0 log_commit_us=$us $us
		trace_on log_append log_commit
		for i in $(seq 10); do
			dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=1 seek="$i" oflag=direct status=none
			sleep 0.05
		done
		trace_off
		commit_gaps >"$BATS_TEST_TMPDIR/gaps.$us"
		echo "log_commit_us=$us: append-to-sync gaps (ms): $(tr '\n' ' ' <"$BATS_TEST_TMPDIR/gaps.$us")" | tap_note
	done
	# 10 ms: every sync comes at least 10 ms after its (only) record was written
	[ "$(wc -l <"$BATS_TEST_TMPDIR/gaps.10000")" -ge 5 ]
	[ "$(sort -n "$BATS_TEST_TMPDIR/gaps.10000" | head -1)" -ge 9 ]
	# 0: no wait, most syncs follow at once
	[ "$(sort -n "$BATS_TEST_TMPDIR/gaps.0" | head -1)" -lt 9 ]
}

@test "tracefs: the logger's events carry the documented fields" {
	for e in log_append log_commit log_rotate writeback replay replay_done emergency \
		throttle checkpoint replay_stop; do
		[ -f "$T/events/mars/$e/format" ]
		grep -q 'char res\[32\]' "$T/events/mars/$e/format"
		grep -q 'res_id' "$T/events/mars/$e/format"
	done
	log_fs
	lcreate
	trace_on log_append log_commit log_rotate writeback emergency
	dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=4 oflag=direct,dsync status=none
	wait_drained 10
	"$MARSCTL" log rotate r0
	"$MARSCTL" log emergency r0 enter
	"$MARSCTL" log emergency r0 leave
	trace_off
	run grep -v '^#' "$T/trace"
	tap_note <<<"$output"
	[[ "$output" == *"log_append: res=r0 res_id=0 log_seq=1 rec_seq=1 off=192 type=1 pos=0 len=4096"* ]]
	[[ "$output" == *"log_append: res=r0 res_id=0 log_seq=1 rec_seq=4 off=$((192 + 3 * 4144)) type=1 pos=12288 len=4096"* ]]
	[[ "$output" == *"log_commit: res=r0 res_id=0 log_seq=1 from_off=192 to_off=4336 records=1 bytes=4144 synced=1 durable_records=1 latency_ns="*" error=0"* ]]
	[[ "$output" == *"writeback: res=r0 res_id=0 op=1 pos=12288 len=4096 inflight="*" latency_ns="*" error=0"* ]]
	# file 1: header, 4 records, EOF
	[[ "$output" == *"log_rotate: res=r0 res_id=0 old_seq=1 old_end=$((192 + 4 * 4144 + 48)) new_seq=2 reason=request error=0"* ]]
	[[ "$output" == *"emergency: res=r0 res_id=0 enter=1 reason=requested free_bytes="*" error=0"* ]]
	[[ "$output" == *"log_rotate: res=r0 res_id=0 old_seq=2 old_end=$((192 + 48)) new_seq=4 reason=emergency error=0"* ]]
	[[ "$output" == *"emergency: res=r0 res_id=0 enter=0 reason=requested free_bytes="*" error=0"* ]]
	# replay: a crash image of 3 records, replayed at the next create
	dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=3 seek=8 oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	restore_image "$BATS_TEST_TMPDIR/img"
	trace_on replay replay_done log_rotate
	lcreate
	trace_off
	run grep -v '^#' "$T/trace"
	tap_note <<<"$output"
	[[ "$output" == *"replay: res=r0 res_id=0 log_seq=4 off="*" type=1 pos=32768 len=4096 latency_ns="*" error=0"* ]]
	[[ "$output" == *"replay: res=r0 res_id=0 log_seq=4 off="*" type=1 pos=40960 len=4096 latency_ns="*" error=0"* ]]
	[[ "$output" == *"replay_done: res=r0 res_id=0 files="*" records=3 bytes=12288 end_seq=4 "*" error=0"* ]]
	[[ "$output" == *"log_rotate: res=r0 res_id=0 old_seq=4 old_end="*" new_seq=5 reason=recovery error=0"* ]]
}

@test "bpftrace recipe: log commits (sync latency, records made durable)" {
	log_fs
	lcreate
	bt 'tracepoint:mars:log_commit /args->synced/ {
	@sync_us[args->res] = hist(args->latency_ns / 1000);
	@durable[args->res] = sum(args->durable_records);
	@commits[args->res] = count();
}' "dd if=/dev/zero of=/dev/mars/r0 bs=4k count=64 oflag=direct conv=fdatasync status=none"
	[[ "$output" == *"@sync_us[r0]:"* ]]
	[[ "$output" == *"@durable[r0]: 64"* ]]
	[[ "$output" == *"@commits[r0]: "* ]]
}

@test "bpftrace recipe: writeback bytes, latency and depth" {
	log_fs
	lcreate
	bt 'tracepoint:mars:writeback {
	@wb_bytes[args->res] = sum(args->len);
	@wb_us[args->res] = hist(args->latency_ns / 1000);
	@inflight_max[args->res] = max(args->inflight);
	@errors[args->res] = sum(args->error != 0);
}' "dd if=/dev/urandom of=/dev/mars/r0 bs=64k count=16 oflag=direct status=none
for i in \$(seq 100); do
	$MARSCTL --json dev list | grep -q '\"wb_pending\": 0' && exit 0
	sleep 0.1
done
exit 1"
	[[ "$output" == *"@wb_bytes[r0]: 1048576"* ]]
	[[ "$output" == *"@wb_us[r0]:"* ]]
	[[ "$output" == *"@inflight_max[r0]: "* ]]
	[[ "$output" == *"@errors[r0]: 0"* ]]
}

@test "bpftrace recipe: rotations and emergency mode as they happen" {
	log_fs
	lcreate
	bt 'tracepoint:mars:log_rotate {
	printf("%s: logfile %d -> %d, reason %d, error %d\n", args->res, args->old_seq,
	       args->new_seq, args->reason, args->error);
}
tracepoint:mars:emergency {
	printf("%s: emergency enter=%d (%s), log fs %d MiB free, error %d\n", args->res,
	       args->enter, args->reason, args->free_bytes / 1048576, args->error);
}' "$MARSCTL log rotate r0
$MARSCTL log emergency r0 enter
$MARSCTL log emergency r0 leave"
	[[ "$output" == *"r0: logfile 1 -> 2, reason 1, error 0"* ]]
	[[ "$output" == *"r0: emergency enter=1 (requested), log fs "*" MiB free, error 0"* ]]
	[[ "$output" == *"r0: logfile 2 -> 4, reason 3, error 0"* ]]
	[[ "$output" == *"r0: emergency enter=0 (requested), log fs "*" MiB free, error 0"* ]]
}

@test "bpftrace recipe: replay at create, per record and in sum" {
	log_fs
	lcreate
	dd if=/dev/urandom of=/dev/mars/r0 bs=64k count=8 oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	restore_image "$BATS_TEST_TMPDIR/img"
	bt 'tracepoint:mars:replay {
	@records[args->res, args->type] = count();
	@replay_us[args->res] = hist(args->latency_ns / 1000);
}
tracepoint:mars:replay_done {
	printf("%s: %d records, %d bytes from %d file(s) in %d ms, log ends at %d:%d, error %d\n",
	       args->res, args->records, args->bytes, args->files, args->latency_ns / 1000000,
	       args->end_seq, args->end_off, args->error);
}' "$MARSCTL --host $H dev create r0 --data $DATA --io bio --log-dir $LOGMNT"
	[[ "$output" == *"@records[r0, 1]: 8"* ]]
	[[ "$output" == *"r0: 8 records, 524288 bytes from 1 file(s) in "*" ms, log ends at 1:"*", error 0"* ]]
}

# lat SLOT OP: the count of r0's mars_lat histogram SLOT/OP (0 when it has none).
lat() {
	"$MARSCTL" --json stats --latency r0 |
		jq "[.[0].latency[] | select(.slot == \"$1\" and .op == \"$2\") | .count] | add // 0"
}

@test "latency histograms: the logger and log slots count a deterministic workload" {
	log_fs
	"$MARSCTL" maps attach
	lcreate
	# the create wrote and synced the first logfile's header: count from here
	lw=$(lat log write)
	lf=$(lat log flush)
	[ "$lw" -ge 1 ]
	# 20 O_DSYNC writes one after the other: each its own log round (one write of
	# the logfile, one sync), then 3 reads
	python3 - <<'PY'
import mmap, os
fd = os.open('/dev/mars/r0', os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
buf = mmap.mmap(-1, 4096)
buf.write(b'l' * 4096)
for i in range(20):
    os.pwrite(fd, buf, i * 4096)
for i in range(3):
    os.preadv(fd, [buf], i * 4096)
os.close(fd)
PY
	run "$MARSCTL" stats --latency r0
	tap_note <<<"$output"
	[ "$(lat if write)" = 20 ]
	[ "$(lat logger write)" = 20 ]
	[ "$(lat logger read)" = 3 ]
	# O_DSYNC is FUA or a FLUSH after each write (the queue decides): the logger
	# sees what the if brick passes down
	[ "$(lat logger flush)" = "$(lat if flush)" ]
	[ "$(($(lat log write) - lw))" = 20 ]
	[ "$(($(lat log flush) - lf))" = 20 ]
	[[ "$output" == *"logger write: 20 requests"* ]]
	[[ "$output" == *"log write: "*" requests"* ]]
	[[ "$output" == *"log flush: "*" requests"* ]]
	# writeback and reads that missed the buffers go to the data slot
	[ "$(lat data write)" -ge 1 ]
}

@test "marsctl top shows the logger and log slots of a logged resource" {
	log_fs
	lcreate
	"$MARSCTL" --json top --interval 1 --iterations 120 >"$BATS_TEST_TMPDIR/top.json" &
	toppid=$!
	for _ in $(seq 100); do
		bpftool prog show | grep -q handle_req_done && break
		sleep 0.1
	done
	dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=20 oflag=direct,dsync status=none
	sleep 2.5
	kill "$toppid"
	wait "$toppid" || true
	req() {
		jq -s "[.[][] | select(.resource == \"r0\" and .slot == \"$1\" and .op == \"$2\") | .requests] | add // 0" \
			"$BATS_TEST_TMPDIR/top.json"
	}
	[ "$(req if write)" = 20 ]
	[ "$(req logger write)" = 20 ]
	[ "$(req log write)" = 20 ]
	[ "$(req log flush)" = 20 ]
}

@test "bpftrace recipe: writers throttled at buf_max_mb, and the throttled counter" {
	log_fs
	lcreate
	"$MARSCTL" maps attach
	# 16 MiB of buffers, and writeback held back (wb_rate_kib=1 applies below 75%
	# of the bound): 32 writes of 1 MiB must wait for writeback at least once
	tune_r0 buf_max_mb=16 16
	tune_r0 wb_rate_kib=1 1
	bt 'tracepoint:mars:throttle /args->enter/ {
	@waits[args->res] = count();
	@buf_mb[args->res] = max(args->buf_bytes / 1048576);
	@limit_mb[args->res] = max(args->limit / 1048576);
}
tracepoint:mars:throttle /!args->enter/ {
	@wait_us[args->res] = hist(args->wait_ns / 1000);
	@proceeded[args->res] = count();
}' "dd if=/dev/zero of=/dev/mars/r0 bs=1M count=32 oflag=direct status=none"
	[[ "$output" =~ @waits\[r0\]:\ ([0-9]+) ]]
	waits=${BASH_REMATCH[1]}
	[ "$waits" -ge 1 ]
	[[ "$output" == *"@proceeded[r0]: $waits"* ]]
	[[ "$output" == *"@limit_mb[r0]: 16"* ]]
	[[ "$output" =~ @buf_mb\[r0\]:\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -ge 15 ] && [ "${BASH_REMATCH[1]}" -le 16 ]
	[[ "$output" == *"@wait_us[r0]:"* ]]
	# every wait counted once in mars_io.throttled
	[ "$("$MARSCTL" --json stats r0 | jq -r '.[0].io.throttled')" = "$waits" ]
	"$MARSCTL" tune r0 wb_rate_kib=default buf_max_mb=default
}

@test "bpftrace recipe: the writeback checkpoint advances to the durable end" {
	log_fs
	lcreate
	bt 'tracepoint:mars:checkpoint {
	printf("%s: checkpoint kind %d at %d:%d, records up to %d on the data device\n",
	       args->res, args->kind, args->seq, args->off, args->rec_seq);
}' "dd if=/dev/urandom of=/dev/mars/r0 bs=4k count=4 oflag=direct,dsync status=none
for i in \$(seq 100); do
	$MARSCTL --json dev list | grep -q '\"wb_off\": $((192 + 4 * 4144))' && exit 0
	sleep 0.1
done
exit 1"
	# header, 4 records of 48 + 4096 bytes: the last checkpoint is the log's end
	[[ "$output" == *"r0: checkpoint kind 0 at 1:$((192 + 4 * 4144)), records up to 4 on the data device"* ]]
	# it only ever moves forward
	run grep -o 'at 1:[0-9]*' <<<"$output"
	[ "$output" = "$(sort -t: -k2 -n <<<"$output")" ]
}

@test "bpftrace recipe: replay stops at a torn tail (file, offset, outcome)" {
	log_fs
	lcreate
	dd if=/dev/urandom of=/dev/mars/r0 bs=64k count=16 oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	f=$BATS_TEST_TMPDIR/img/$(basename "$(logfile 1)")
	truncate -s $(($(stat -c %s "$f") - 32768)) "$f"
	restore_image "$BATS_TEST_TMPDIR/img"
	bt 'tracepoint:mars:replay_stop {
	printf("%s: replay stops in logfile %d at offset %d: reason %d, outcome %d, error %d\n",
	       args->res, args->log_seq, args->off, args->reason, args->outcome, args->error);
}' "$MARSCTL --host $H dev create r0 --data $DATA --io bio --log-dir $LOGMNT"
	# the 16th record (at 192 + 15 * (48 + 65536)) is torn: end (1), torn_tail (5)
	[[ "$output" == *"r0: replay stops in logfile 1 at offset $((192 + 15 * 65584)): reason 1, outcome 5, error 0"* ]]
	[ -b /dev/mars/r0 ]
}

# st ARGS: marsctl on a store where this host is a member of r0 (for status).
st() {
	"$MARSCTL" --store "$BATS_TEST_TMPDIR/store" --host "$H" "$@"
}

# rjson FILTER: a field of r0 in status --json.
rjson() {
	st --json status r0 | jq -r ".resources[0]$1"
}

@test "replay runs outside the registry lock: status shows its progress, delete is refused, data is correct" {
	command -v dmsetup >/dev/null || skip "dmsetup is not installed"
	modprobe dm-delay || skip "dm-delay is not available"
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/p" 20 11
	dd if="$BATS_TEST_TMPDIR/p" of=/dev/mars/r0 bs=64k oflag=direct conv=fdatasync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	restore_image "$BATS_TEST_TMPDIR/img"
	# Deterministically slow: every write to the data device waits 15 ms in
	# dm-delay, and replay keeps one write in flight: 320 records of 64 KiB, about
	# 5 s. No sleep in mars itself.
	dmsetup create "$SLOW" --table "0 $(blockdev --getsz "$DATA") delay $DATA 0 0 $DATA 0 15"
	# no udev in the guest: no /dev/mapper/NAME, but devtmpfs makes /dev/dm-N
	slow=/dev/$(dmsetup info -c --noheadings -o blkdevname "$SLOW")
	for _ in $(seq 50); do
		[ -b "$slow" ] && break
		sleep 0.1
	done
	[ -b "$slow" ]
	st put "/res/r0/hosts/$H/data" "$slow" >/dev/null
	"$MARSCTL" maps attach
	"$MARSCTL" tune replay_depth=1
	for _ in $(seq 50); do
		[ "$("$MARSCTL" --json tune | jq .effective.replay_depth)" = 1 ] && break
		sleep 0.1
	done
	"$MARSCTL" --host "$H" dev create r0 --data "$slow" --io bio \
		--log-dir "$LOGMNT" >"$BATS_TEST_TMPDIR/create.out" 2>&1 3>&- &
	pid=$!
	seen=
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		t0=$(date +%s%N)
		j=$(st --json status r0)
		ms=$((($(date +%s%N) - t0) / 1000000))
		# status answers at once, not after the replay
		[ "$ms" -lt 3000 ] || { echo "status took $ms ms"; false; }
		r=$(jq -c '.resources[0].replay' <<<"$j")
		echo "$ms ms: $r"
		if [ "$(jq -r .state <<<"$r")" = applying ] && [ "$(jq .done <<<"$r")" -gt 0 ] &&
			[ "$(jq .rate <<<"$r")" != null ]; then
			seen=$j
			break
		fi
		sleep 0.05
	done
	[ -n "$seen" ] || { echo "never saw the replay write"; cat "$BATS_TEST_TMPDIR/create.out"; false; }
	r='.resources[0]'
	[ "$(jq -r "$r.disk" <<<"$seen")" = Recovery ]
	[ "$(jq "$r.device" <<<"$seen")" = null ]
	[ "$(jq "$r.open_count" <<<"$seen")" = null ]
	jq -e "$r.replay | .done <= .total and .total >= (20 * 1048576) and .rate > 0 and .eta >= 0" \
		<<<"$seen"
	run st status r0
	echo "$output"
	[[ "$output" =~ replay\ \[[#.]{10}\]\ [0-9]+%\ [0-9.]+\ MiB/s\ ETA\ [0-9]+:[0-9]{2} ]]
	run "$MARSCTL" --json dev list
	[ "$(jq -r '.[0].state | join(",")' <<<"$output")" = creating,replaying ]
	# delete is refused while the replay runs, also forced
	run "$MARSCTL" dev delete r0
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"replaying its log"*"busy"* ]]
	run "$MARSCTL" dev delete --force r0
	[ "$status" -ne 0 ]
	kill -0 "$pid"	# still replaying
	wait "$pid"
	cat "$BATS_TEST_TMPDIR/create.out"
	[[ "$(cat "$BATS_TEST_TMPDIR/create.out")" == *"replayed"* ]]
	[ -b /dev/mars/r0 ]
	same_as "$BATS_TEST_TMPDIR/p" 0
	[ "$(rjson .device)" = /dev/mars/r0 ]
	[ "$(rjson .replay.state)" = "done" ]
	[ "$(rjson .replay.done)" = "$(rjson .replay.total)" ]
	"$MARSCTL" tune replay_depth=default
	timeout 60 "$MARSCTL" dev delete r0
	wait_gone /dev/mars/r0
	dmsetup remove "$SLOW"
}
