#!/usr/bin/env bats
# The transaction logger's replay and CRC paths (issue 4, performance work):
# the log's CRC32C driver is measured at module load, shown, and every driver
# writes logs the others replay (and marsctl, with ISA-L, verifies); replay keeps
# what its first pass read for the second within buf_max_mb, and reads the rest
# again, across rotated files; a log filesystem without O_DIRECT (tmpfs) is read
# buffered; a logfile torn before a recovery went on in the next file replays
# when the checkpoint is still in front of it.

load _common
load _logged

PARAM=/sys/module/mars/parameters/crc32c

teardown() {
	local rc=0 n
	for n in $("$MARSCTL" --json dev list 2>/dev/null | jq -r '.[]?.name?'); do
		timeout 60 "$MARSCTL" dev delete --force "$n" || rc=1
	done
	if [ -e /sys/fs/bpf/mars/mars_gtun ] && grep -q '^mars ' /proc/modules; then
		"$MARSCTL" tune buf_max_mb=default log_rotate_mb=default wb_rate_kib=default || rc=1
	fi
	mountpoint -q "$LOGMNT" && { umount "$LOGMNT" || rc=1; }
	mars_teardown || rc=1
	return "$rc"
}

logfile() {
	printf '%s/log-%09d-%s' "$(logdir)" "$1" "$H"
}

# crash_image DIR / restore_image DIR: as in 40-logger.bats (logfiles copied
# while the device runs; then a zeroed data device and those logfiles).
crash_image() {
	rm -rf "$1"
	cp -a "$(logdir)" "$1"
}

restore_image() {
	if [ -e /dev/mars/r0 ]; then
		timeout 60 "$MARSCTL" dev delete --force r0
		wait_gone /dev/mars/r0
	fi
	dd if=/dev/zero of="$DATA" bs=1M count=64 status=none
	rm -rf "$(logdir)"
	cp -a "$1" "$(logdir)"
}

pattern() {
	# pattern FILE MiB SEED: deterministic data
	python3 -c 'import random,sys; r=random.Random(int(sys.argv[2])); sys.stdout.buffer.write(r.randbytes(int(sys.argv[1])<<20))' \
		"$2" "$3" >"$1"
}

# same_as FILE OFFSET_MiB: /dev/mars/r0 holds FILE at OFFSET (FILE may be a pipe:
# then as many MiB as it holds, from its content).
same_as() {
	local f=$BATS_TEST_TMPDIR/same_as mb
	cat "$1" >"$f"
	mb=$(($(stat -c %s "$f") >> 20))
	cmp <(dd if=/dev/mars/r0 bs=1M skip="$2" count="$mb" iflag=direct status=none) "$f"
}

# replay_line: the module's last "r0: replayed ..." line.
replay_line() {
	dmesg | grep 'r0: replayed' | tail -1
}

# replay_field WHAT: "bytes" (replayed) or "once" (read once: kept records).
replay_field() {
	case $1 in
	bytes) replay_line | sed -n 's/.*records, \([0-9]*\) bytes from.*/\1/p' ;;
	once) replay_line | sed -n 's/.*, \([0-9]*\) bytes read once).*/\1/p' ;;
	esac
}

# reload [crc32c=DRIVER]: mars.ko again, with the module parameter given.
reload() {
	mars_reset
	insmod "$MARS_KO" "$@"
}

@test "crc32c: the log's driver is measured at load and shown; any driver replays another's log" {
	local drivers=() d w r
	# the arch driver is loaded by udev on most machines, not in this VM
	modprobe crc32c_intel 2>/dev/null || modprobe crc32c-arm64 2>/dev/null || true
	reload
	d=$(cat "$PARAM")
	echo "in use: $d"
	[ -n "$d" ] && [ "$d" != auto ]
	dmesg | grep -q "mars: crc32c: the log uses $d (fastest measured"
	for w in crc32c-generic crc32c-intel crc32c-arm64-ce; do
		grep -q "^driver *: $w\$" /proc/crypto && drivers+=("$w")
	done
	echo "drivers: ${drivers[*]}"
	[ "${#drivers[@]}" -ge 1 ]
	pattern "$BATS_TEST_TMPDIR/a" 2 41
	for w in "${drivers[@]}"; do
		for r in "${drivers[@]}"; do
			reload crc32c="$w"
			[ "$(cat "$PARAM")" = "$w" ]
			log_fs
			lcreate
			dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
			crash_image "$BATS_TEST_TMPDIR/img"
			# ISA-L in marsctl checks every record's CRC
			"$MARSCTL" log dump "$BATS_TEST_TMPDIR/img/$(basename "$(logfile 1)")" >/dev/null
			reload crc32c="$r"
			[ "$(cat "$PARAM")" = "$r" ]
			restore_image "$BATS_TEST_TMPDIR/img"
			lcreate
			replay_line
			[ "$(replay_field bytes)" = $((2 << 20)) ]
			same_as "$BATS_TEST_TMPDIR/a" 0
			timeout 60 "$MARSCTL" dev delete r0
			umount "$LOGMNT"
		done
	done
	# a driver that does not exist: the log uses crc32c() and says so
	reload crc32c=no-such-driver
	dmesg | tail -5 | grep -q "crc32c: no usable driver named no-such-driver"
	reload
}

@test "replay keeps what fits buf_max_mb, reads the rest again, across rotated files" {
	log_fs
	"$MARSCTL" maps attach
	# writeback (almost) stopped: no EOF(DRAINED) at the rotations, so replay
	# starts at file 1 and writes all 24 MiB onto the zeroed data device (more
	# would fill the 64 MiB log filesystem into emergency mode)
	"$MARSCTL" tune log_rotate_mb=8 wb_rate_kib=1
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 24 42
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=1M oflag=direct status=none
	sync /dev/mars/r0
	crash_image "$BATS_TEST_TMPDIR/img"
	ls -l "$BATS_TEST_TMPDIR/img"
	[ -e "$BATS_TEST_TMPDIR/img/$(basename "$(logfile 3)")" ]
	"$MARSCTL" tune buf_max_mb=16
	restore_image "$BATS_TEST_TMPDIR/img"
	lcreate
	replay_line
	[ "$(replay_field bytes)" = $((24 << 20)) ]
	# some kept (at most buf_max_mb), the rest read again
	[ "$(replay_field once)" -gt 0 ]
	[ "$(replay_field once)" -le $((16 << 20)) ]
	same_as "$BATS_TEST_TMPDIR/a" 0
	# with the default bound all of it is read once, and the result is the same
	"$MARSCTL" tune buf_max_mb=default
	restore_image "$BATS_TEST_TMPDIR/img"
	lcreate
	replay_line
	[ "$(replay_field once)" = "$(replay_field bytes)" ]
	same_as "$BATS_TEST_TMPDIR/a" 0
}

@test "replay from a log filesystem without O_DIRECT (tmpfs) reads it buffered" {
	log_fs tmpfs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 6 43
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=256k oflag=direct,dsync status=none
	crash_image "$BATS_TEST_TMPDIR/img"
	restore_image "$BATS_TEST_TMPDIR/img"
	lcreate
	replay_line
	[ "$(replay_field bytes)" = $((6 << 20)) ]
	same_as "$BATS_TEST_TMPDIR/a" 0
}

@test "a file torn before a recovery went on in the next one replays from a checkpoint in front of it" {
	log_fs
	lcreate
	pattern "$BATS_TEST_TMPDIR/a" 20 44
	pattern "$BATS_TEST_TMPDIR/b" 1 45
	dd if="$BATS_TEST_TMPDIR/a" of=/dev/mars/r0 bs=1M oflag=direct status=none
	sync /dev/mars/r0
	crash_image "$BATS_TEST_TMPDIR/img1"
	# the power cut tore the last record of file 1 (records here are >= 64 KiB)
	f=$BATS_TEST_TMPDIR/img1/$(basename "$(logfile 1)")
	truncate -s $(($(stat -c %s "$f") - 32768)) "$f"
	restore_image "$BATS_TEST_TMPDIR/img1"
	lcreate
	dmesg | tail -20 | grep -q 'torn tail'
	[ "$(lfield_seq)" = 2 ]
	dd if="$BATS_TEST_TMPDIR/b" of=/dev/mars/r0 bs=64k seek=512 oflag=direct,dsync status=none
	# a second power cut, before the checkpoint moved past file 1
	crash_image "$BATS_TEST_TMPDIR/img2"
	restore_image "$BATS_TEST_TMPDIR/img2"
	lcreate --replay-from 1:0
	replay_line
	# file 1 without its torn record, then all of file 2
	same_as <(head -c 19M "$BATS_TEST_TMPDIR/a") 0
	same_as "$BATS_TEST_TMPDIR/b" 32
	[ "$(replay_field once)" = "$(replay_field bytes)" ]
	# the same when the second pass reads file 1 again (not all of it fits)
	"$MARSCTL" maps attach
	"$MARSCTL" tune buf_max_mb=16
	restore_image "$BATS_TEST_TMPDIR/img2"
	lcreate --replay-from 1:0
	replay_line
	[ "$(replay_field once)" -lt "$(replay_field bytes)" ]
	same_as <(head -c 19M "$BATS_TEST_TMPDIR/a") 0
	same_as "$BATS_TEST_TMPDIR/b" 32
}

lfield_seq() {
	"$MARSCTL" --json dev list | jq -r '.[] | select(.name == "r0") | .log.seq'
}
