#!/usr/bin/env bats
# Proves the data path of mars.ko end to end, for each backend (sio, aio, bio):
#  - what is written through /dev/mars/<res> reads back intact and lands on the
#    backing where it was written (fio with crc32c verification on brd, on a virtio
#    disk and on a file on ext4; a filesystem made through mars checks clean and is
#    byte for byte its backing);
#  - FLUSH and FUA reach the backing (block_bio_queue trace under the backing);
#  - the sio thread pool has the size asked for and can be resized under IO;
#  - delete refuses an open device unless forced, after which IO on the open
#    descriptor moves no data and nothing hangs;
#  - bad input (no CAP_SYS_ADMIN, bad paths, names, backends, sizes, malformed
#    structs, thousands of random ioctls) is refused with a clear errno and message,
#    no kernel warning and nothing leaked: the module unloads at the end.
# The scratch disks: /dev/vda is a raw backing, /dev/vdb carries the ext4 that holds
# the file backings; brd gives two 64 MiB RAM disks, /dev/ram0 and /dev/ram1.

bats_require_minimum_version 1.5.0

load _common

HELPERS=$BATS_TEST_DIRNAME/helpers
EXT4_MNT=/mnt/mars-ext4
# fio: 4 jobs, each writing its own region of this size (random 4k blocks).
FIO_SIZE=${MARS_FIO_SIZE:-16M}

setup_file() {
	[ -f "$MARS_KO" ] || return 0
	mars_reset
}

teardown_file() {
	suite_end "$EXT4_MNT"
}

setup() {
	mars_setup
	require_vm
	[ -f "$MARS_KO" ] || skip "kmod/mars.ko is not built (make kmod)"
	mars_load
}

teardown() {
	local rc=0
	cleanup_test || rc=1
	mars_teardown || rc=1
	return "$rc"
}

# --- helpers -------------------------------------------------------------------------

# Undo what a test (a failed one too) left: background jobs, descriptor 8, mounts in
# the test's folder (a filesystem on /dev/mars before the device goes, one holding a
# file backing after it), devices, dm-log-writes, file backings.
cleanup_test() {
	local m name pids rc=0
	mapfile -t pids < <(jobs -p)
	[ "${#pids[@]}" -eq 0 ] || kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	exec 8<&-
	while read -r _ m _; do
		case $m in "$BATS_TEST_TMPDIR"/*) umount "$m" 2>/dev/null ;; esac
	done </proc/mounts
	if grep -q '^mars ' /proc/modules; then
		for name in $("$MARSCTL" --json dev list | jq -r '.[]?.name?'); do
			timeout 60 "$MARSCTL" dev delete --force -- "$name" || rc=1
		done
		# Names marsctl refuses (the module should have refused them too).
		if [ "$(dev_count)" != 0 ]; then
			timeout 60 python3 "$HELPERS/mars_ioctl.py" cleanup
			rc=1
		fi
	fi
	while read -r _ m _; do
		case $m in "$BATS_TEST_TMPDIR"/*) umount "$m" || rc=1 ;; esac
	done </proc/mounts
	lw_remove || rc=1
	if grep -q '^null_blk ' /proc/modules; then
		rmmod null_blk || rc=1
	fi
	rm -f "$EXT4_MNT"/data-*
	return "$rc"
}

# Two 64 MiB RAM disks, /dev/ram0 and /dev/ram1.
need_brd() {
	[ -b /dev/ram1 ] && return 0
	grep -q '^brd ' /proc/modules && rmmod brd
	modprobe brd rd_nr=2 rd_size=65536 || skip "brd (RAM disk) module not available"
}

need_disk() {
	[ -b "$1" ] || skip "scratch disk $1 missing (run through tests/run-vm)"
}

# An ext4 on /dev/vdb, mounted at $EXT4_MNT, for the file backings.
need_ext4() {
	mountpoint -q "$EXT4_MNT" && return 0
	need_disk /dev/vdb
	mkfs.ext4 -q -F /dev/vdb
	mkdir -p "$EXT4_MNT"
	mount /dev/vdb "$EXT4_MNT"
}

# ext4_file NAME SIZE: a fresh, allocated file on the ext4; prints its path.
ext4_file() {
	need_ext4
	rm -f "$EXT4_MNT/$1"
	fallocate -l "$2" "$EXT4_MNT/$1"
	echo "$EXT4_MNT/$1"
}

# dev_create RES PATH BACKEND [marsctl options...]: a device that must come up.
dev_create() {
	run "$MARSCTL" dev create "$1" --data "$2" --io "$3" "${@:4}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -b "/dev/mars/$1" ]
}

dev_delete() {
	run timeout 60 "$MARSCTL" dev delete "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# dev_field RES FIELD: a field of the device's entry in 'dev list --json'.
dev_field() {
	"$MARSCTL" dev list --json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

dev_count() {
	"$MARSCTL" --json dev list | jq length
}

# fio_verify FILE [fio options...]: 4 jobs write random 4k blocks into their own
# $FIO_SIZE regions of FILE with crc32c checksums, then read every block back and
# check it (with --verify_only: only the check).
fio_verify() {
	fio --name=verify --filename="$1" --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bs=4k --numjobs=4 --size="$FIO_SIZE" \
		--offset_increment="$FIO_SIZE" --verify=crc32c --verify_fatal=1 \
		--group_reporting "${@:2}"
}

# fio_datapath BACKEND BACKING: verified writes through mars; then the same blocks
# are checked on the backing itself, with the device gone.
fio_datapath() {
	dev_create r0 "$2" "$1"
	run fio_verify /dev/mars/r0 --do_verify=1
	echo "$output"
	[ "$status" -eq 0 ]
	dev_delete r0
	run fio_verify "$2" --verify_only
	echo "$output"
	[ "$status" -eq 0 ]
}

# sha256 of LEN bytes of FILE from offset 0, read around the page cache.
sum_direct() {
	dd if="$1" bs=1M count=$(($2 >> 20)) iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# doc_tree DEST: a copy of a few MiB of /usr/share/doc (small files two levels
# down), made once per suite.
doc_tree() {
	local cache=$BATS_FILE_TMPDIR/doc-tree
	if [ ! -d "$cache" ]; then
		mkdir -p "$cache.tmp"
		find /usr/share/doc -mindepth 2 -maxdepth 3 -type f -size -64k | sort | head -n 300 |
			xargs -d '\n' cp --parents -t "$cache.tmp"
		mv "$cache.tmp" "$cache"
	fi
	cp -a "$cache" "$1"
}

# fs_roundtrip BACKEND: mkfs, mount, copy, umount, fsck through mars over /dev/ram1;
# the backing holds the same bytes, and mounted alone it holds the tree.
fs_roundtrip() {
	local mnt=$BATS_TEST_TMPDIR/mnt src=$BATS_TEST_TMPDIR/src size
	need_brd
	mkdir -p "$mnt"
	doc_tree "$src"
	dev_create r0 /dev/ram1 "$1"
	mkfs.ext4 -q -F /dev/mars/r0
	mount /dev/mars/r0 "$mnt"
	cp -a "$src" "$mnt/"
	umount "$mnt"
	run fsck.ext4 -fn /dev/mars/r0
	echo "$output"
	[ "$status" -eq 0 ]
	size=$(blockdev --getsize64 /dev/mars/r0)
	[ "$(sum_direct /dev/mars/r0 "$size")" = "$(sum_direct /dev/ram1 "$size")" ]
	dev_delete r0
	# The backing alone: drop what its page cache may remember from earlier tests.
	sync
	echo 3 >/proc/sys/vm/drop_caches
	mount -o ro /dev/ram1 "$mnt"
	diff -r "$src" "$mnt/src"
	umount "$mnt"
}

# --- recording what reaches a backing: dm-log-writes ---------------------------------
#
# /dev/mapper/$LW_DM passes every bio to /dev/ram0 and records it in /dev/ram1 once
# it is stable: a write when a later FLUSH completed (the writes' entries, then the
# FLUSH entry) or, with FUA, when it completed. Marks "start" and "stop" bound what
# a test looks at. (The block tracepoint used before left the TCG guest in a soft
# lockup once in two full runs; dm-log-writes needs no tracefs.)

LW_DM=mars-lw

# lw_start: create the dm device $LW_DM over a fresh /dev/ram0, set the mark
# "start", and set LW_DEV to its device node.
lw_start() {
	need_brd
	[ -x "$MARS_TOP/build/tools/replaylog" ] || skip "build/tools is not built (make all)"
	command -v dmsetup >/dev/null || skip "dmsetup missing"
	modprobe dm-log-writes || skip "no dm-log-writes module in the guest kernel"
	dd if=/dev/zero of=/dev/ram1 bs=1M count=1 oflag=direct status=none
	dmsetup create "$LW_DM" --table "0 $(blockdev --getsz /dev/ram0) log-writes /dev/ram0 /dev/ram1"
	LW_DEV=$(dm_dev "$LW_DM")
	dmsetup message "$LW_DM" 0 mark start
}

# lw_mark_stop: set the mark "stop": what is not durable by now does not count.
lw_mark_stop() {
	dmsetup message "$LW_DM" 0 mark stop
}

# lw_remove: remove $LW_DM if it exists (after whatever sits on it is gone).
lw_remove() {
	if dmsetup info "$LW_DM" >/dev/null 2>&1; then
		dmsetup remove "$LW_DM"
	fi
}

# lw_stop FILE: remove $LW_DM and write the entries between the marks to FILE as
# "KIND SECTOR NSECTORS" (512-byte sectors), KIND: W a write, WF a FUA write, F a
# flush (FW a flush with data).
lw_stop() {
	lw_remove || return 1
	"$MARS_TOP/build/tools/replaylog" list /dev/ram1 | awk '
		$4 ~ /MARK/ { on = ($5 == "start") ? 1 : (($5 == "stop") ? 0 : on); next }
		on {
			k = ($4 ~ /FLUSH/ ? "F" : "") ($3 > 0 ? "W" : "") ($4 ~ /FUA/ ? "F" : "")
			print k, $2, $3
		}' >"$1"
}

# durable_in_log FILE SECTOR NSECTORS: the range was written, each part with FUA
# or followed by a flush.
durable_in_log() {
	awk -v s="$2" -v n="$3" '
		{ kind = $1; start = $2; len = $3 }
		kind ~ /W/ && start < s + n && start + len > s {
			for (x = (start > s ? start : s); x < s + n && x < start + len; x++) {
				covered[x] = 1
				fua[x] = (kind ~ /WF/)
			}
			last = NR
		}
		kind ~ /^F/ && last && NR > last { flushed = 1 }
		END {
			for (x = s; x < s + n; x++) {
				if (!covered[x]) { print "sector " x " not durable (not in the log)"; exit 1 }
				if (!fua[x] && !flushed) { print "sector " x " written, no FUA, no flush after it"; exit 1 }
			}
		}' "$1"
}

# flushes_in_log FILE: the number of flushes in the log.
flushes_in_log() {
	awk '$1 ~ /^F/ { n++ } END { print n + 0 }' "$1"
}

# fua_write BACKEND: an O_DIRECT|O_SYNC write through mars is durable on the
# backing when it completes, and its bytes are there.
fua_write() {
	local blk=$BATS_TEST_TMPDIR/block log=$BATS_TEST_TMPDIR/lw
	lw_start
	dev_create r0 "$LW_DEV" "$1"
	head -c 4096 /dev/urandom >"$blk"
	dd if="$blk" of=/dev/mars/r0 bs=4096 seek=1000 count=1 oflag=direct,sync conv=notrunc \
		status=none
	lw_mark_stop
	dev_delete r0
	lw_stop "$log"
	cat "$log"
	run durable_in_log "$log" 8000 8
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$blk" <(dd if=/dev/ram0 bs=4096 skip=1000 count=1 iflag=direct status=none)
}

# file_fua_write BACKEND: an O_DIRECT|O_SYNC write through mars over a file on ext4
# is in the file when it completes, and the filesystem flushed its disk for it.
file_fua_write() {
	local f mnt=$BATS_TEST_TMPDIR/mnt blk=$BATS_TEST_TMPDIR/block log=$BATS_TEST_TMPDIR/lw
	lw_start
	mkfs.ext4 -q -F "$LW_DEV"
	mkdir -p "$mnt"
	mount "$LW_DEV" "$mnt"
	f=$mnt/data-fua
	fallocate -l 16M "$f"
	sync
	dev_create r0 "$f" "$1"
	head -c 4096 /dev/urandom >"$blk"
	dmsetup message "$LW_DM" 0 mark start
	dd if="$blk" of=/dev/mars/r0 bs=4096 seek=1000 count=1 oflag=direct,sync conv=notrunc \
		status=none
	lw_mark_stop
	dev_delete r0
	cmp "$blk" <(dd if="$f" bs=4096 skip=1000 count=1 iflag=direct status=none)
	umount "$mnt"
	lw_stop "$log"
	cat "$log"
	[ "$(flushes_in_log "$log")" -ge 1 ]
}

# fsync_flush BACKEND: fsync on /dev/mars/r0 makes a buffered write durable on the
# backing: the write is there, with a flush after it.
fsync_flush() {
	local blk=$BATS_TEST_TMPDIR/block log=$BATS_TEST_TMPDIR/lw
	lw_start
	dev_create r0 "$LW_DEV" "$1"
	head -c 4096 /dev/urandom >"$blk"
	dd if="$blk" of=/dev/mars/r0 bs=4096 seek=2000 count=1 conv=notrunc,fsync status=none
	lw_mark_stop
	dev_delete r0
	lw_stop "$log"
	cat "$log"
	run durable_in_log "$log" 16000 8
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(flushes_in_log "$log")" -ge 1 ]
}

# unsynced_write BACKEND: the check above can fail: a direct write with neither
# FUA nor a flush is not durable at the mark "stop".
unsynced_write() {
	local log=$BATS_TEST_TMPDIR/lw
	lw_start
	dev_create r0 "$LW_DEV" "$1"
	head -c 4096 /dev/urandom | dd of=/dev/mars/r0 bs=4096 seek=3000 count=1 oflag=direct \
		conv=notrunc status=none
	lw_mark_stop
	dev_delete r0
	lw_stop "$log"
	cat "$log"
	run durable_in_log "$log" 24000 8
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not durable"* ]]
}

# fsync_fio BACKEND: fio with an fsync after every write passes verification.
fsync_fio() {
	need_disk /dev/vda
	dev_create r0 /dev/vda "$1"
	run fio --name=fsync --filename=/dev/mars/r0 --ioengine=psync --rw=randwrite --bs=4k \
		--numjobs=2 --size=2M --offset_increment=2M --fsync=1 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --group_reporting
	echo "$output"
	[ "$status" -eq 0 ]
}

# sio_threads: the number of running sio kernel threads (all devices).
sio_threads() {
	pgrep -c '^mars_sio' || true
}

# wait_sio_threads N: the pool settles at N threads within 10 s.
wait_sio_threads() {
	local _
	for _ in $(seq 50); do
		[ "$(sio_threads)" -eq "$1" ] && return 0
		sleep 0.2
	done
	echo "expected $1 sio threads, found $(sio_threads):"
	pgrep -l '^mars_sio'
	return 1
}

# raw ARGS: one raw ioctl (helpers/mars_ioctl.py); prints "ERRNO: errmsg" or "OK ...".
raw() {
	python3 "$HELPERS/mars_ioctl.py" "$@"
}

# raw_batch: the raw requests on stdin ("EXPECT COMMAND ARGS...", see
# helpers/mars_ioctl.py) all get the expected answer.
raw_batch() {
	run python3 "$HELPERS/mars_ioctl.py" batch
	echo "$output"
	[ "$status" -eq 0 ]
}

# raw_refused ERRNO ARGS: the raw ioctl fails with ERRNO and explains itself.
raw_refused() {
	run raw "${@:2}"
	echo "raw ${*:2} -> $output"
	[[ "$output" == "$1: "?* ]]
}

# --- the ABI mirror the helpers use --------------------------------------------------

@test "the test helpers' copy of the ioctl ABI matches include/uapi/linux/mars.h" {
	command -v cc >/dev/null || skip "no C compiler in the guest"
	raw layout-c >"$BATS_TEST_TMPDIR/layout.c"
	cc -I"$MARS_TOP/include/uapi" -o "$BATS_TEST_TMPDIR/layout" "$BATS_TEST_TMPDIR/layout.c"
	diff <(raw layout) <("$BATS_TEST_TMPDIR/layout")
}

# --- fio with verification, per backend and backing ----------------------------------

@test "sio: fio-verified random writes on brd reach the backing intact" {
	need_brd
	fio_datapath sio /dev/ram0
}

@test "aio: fio-verified random writes on brd reach the backing intact" {
	need_brd
	fio_datapath aio /dev/ram0
}

@test "bio: fio-verified random writes on brd reach the backing intact" {
	need_brd
	fio_datapath bio /dev/ram0
}

@test "sio: fio-verified random writes on a virtio disk reach the backing intact" {
	need_disk /dev/vda
	fio_datapath sio /dev/vda
}

@test "aio: fio-verified random writes on a virtio disk reach the backing intact" {
	need_disk /dev/vda
	fio_datapath aio /dev/vda
}

@test "bio: fio-verified random writes on a virtio disk reach the backing intact" {
	need_disk /dev/vda
	fio_datapath bio /dev/vda
}

@test "sio: fio-verified random writes on a file on ext4 reach the file intact" {
	fio_datapath sio "$(ext4_file data-sio 128M)"
}

@test "aio: fio-verified random writes on a file on ext4 reach the file intact" {
	fio_datapath aio "$(ext4_file data-aio 128M)"
}

@test "bio: a regular file is refused with ENOTBLK by marsctl and by the module" {
	local f
	f=$(ext4_file data-bio 16M)
	run -1 "$MARSCTL" dev create r0 --data "$f" --io bio
	echo "$output"
	[[ "$output" == *"not a block device"* ]]
	raw_refused ENOTBLK create r0 "$f" --backend 3
	[ "$(dev_count)" -eq 0 ]
}

# --- a filesystem through mars -------------------------------------------------------

@test "sio: an ext4 made through mars checks clean and is byte for byte its backing" {
	fs_roundtrip sio
}

@test "aio: an ext4 made through mars checks clean and is byte for byte its backing" {
	fs_roundtrip aio
}

@test "bio: an ext4 made through mars checks clean and is byte for byte its backing" {
	fs_roundtrip bio
}

# --- FLUSH and FUA --------------------------------------------------------------------

@test "sio: an O_DIRECT|O_SYNC write is durable on the backing when it completes" {
	fua_write sio
}

@test "aio: an O_DIRECT|O_SYNC write is durable on the backing when it completes" {
	fua_write aio
}

@test "bio: an O_DIRECT|O_SYNC write is durable on the backing when it completes" {
	fua_write bio
}

@test "sio: an O_DIRECT|O_SYNC write to a file backing makes ext4 flush its disk" {
	file_fua_write sio
}

@test "aio: an O_DIRECT|O_SYNC write to a file backing makes ext4 flush its disk" {
	file_fua_write aio
}

@test "sio: fsync of the device flushes an earlier buffered write to the backing" {
	fsync_flush sio
}

@test "aio: fsync of the device flushes an earlier buffered write to the backing" {
	fsync_flush aio
}

@test "bio: fsync of the device flushes an earlier buffered write to the backing" {
	fsync_flush bio
}

@test "bio: the durability check fails for a write with neither FUA nor a flush" {
	unsynced_write bio
}

@test "sio: fio with an fsync after every write passes verification" {
	fsync_fio sio
}

@test "aio: fio with an fsync after every write passes verification" {
	fsync_fio aio
}

@test "bio: fio with an fsync after every write passes verification" {
	fsync_fio bio
}

# --- device settings ------------------------------------------------------------------

@test "--size makes a device smaller than its backing, with the backing's block size" {
	need_disk /dev/vda
	dev_create r0 /dev/vda bio --size 32M
	[ "$(blockdev --getsize64 /dev/mars/r0)" -eq $((32 << 20)) ]
	[ "$(dev_field r0 size)" -eq $((32 << 20)) ]
	[ "$(dev_field r0 logical_block_size)" -eq "$(blockdev --getss /dev/vda)" ]
	[ "$(blockdev --getss /dev/mars/r0)" -eq "$(blockdev --getss /dev/vda)" ]
}

@test "dev list shows the same devices in the table and in JSON" {
	need_brd
	run -0 "$MARSCTL" dev create r0 --data /dev/ram0 --io bio --queue-depth 64 --json
	echo "$output"
	[ "$(jq -r '.name, .device, .backend' <<<"$output" | paste -sd' ')" = \
		"r0 /dev/mars/r0 bio" ]
	[ "$(jq -r .major <<<"$output")" -gt 0 ]
	dev_create r1 "$(ext4_file data-list 8M)" sio --threads 2
	run -0 "$MARSCTL" --json dev list
	echo "$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -r '.[0].name, .[0].backend, .[0].data, .[0].queue_depth' <<<"$output" |
		paste -sd' ')" = "r0 bio /dev/ram0 64" ]
	[ "$(jq -r '.[1].name, .[1].backend, .[1].data, .[1].sio_threads, .[1].size' \
		<<<"$output" | paste -sd' ')" = "r1 sio $EXT4_MNT/data-list 2 $((8 << 20))" ]
	[ "$(jq -r '.[0].device' <<<"$output")" = /dev/mars/r0 ]
	run -0 "$MARSCTL" dev list
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == NAME* ]]
	[[ "${lines[1]}" == "r0 "*" bio "*"64MiB"*"/dev/ram0" ]]
	[[ "${lines[2]}" == "r1 "*" sio "*"8MiB "*" 2 "*"$EXT4_MNT/data-list" ]]
}

@test "sio: --threads 1, 4 and 16 start that many threads, and list shows it" {
	local n
	need_brd
	for n in 1 4 16; do
		dev_create r0 /dev/ram0 sio --threads "$n"
		[ "$(dev_field r0 sio_threads)" -eq "$n" ]
		wait_sio_threads "$n"
		dev_delete r0
		wait_sio_threads 0
	done
}

@test "sio: the default pool has MARS_SIO_THREADS_DEFAULT (4) threads" {
	need_brd
	dev_create r0 /dev/ram0 sio
	[ "$(dev_field r0 sio_threads)" -eq 4 ]
	wait_sio_threads 4
}

@test "sio: dev set --threads resizes the pool of a running device" {
	local n
	need_brd
	dev_create r0 /dev/ram0 sio --threads 4
	for n in 16 1 7; do
		run -0 "$MARSCTL" dev set r0 --threads "$n"
		[ "$(dev_field r0 sio_threads)" -eq "$n" ]
		wait_sio_threads "$n"
	done
}

@test "sio: resizing the pool under fio keeps every block intact" {
	local pid n
	need_brd
	dev_create r0 /dev/ram0 sio --threads 2
	fio_verify /dev/mars/r0 --do_verify=1 >"$BATS_TEST_TMPDIR/fio.log" 2>&1 &
	pid=$!
	for n in 16 1 8 3 12; do
		sleep 0.5
		run -0 "$MARSCTL" dev set r0 --threads "$n"
	done
	run timeout 300 tail --pid="$pid" -f /dev/null
	wait "$pid" || { cat "$BATS_TEST_TMPDIR/fio.log"; false; }
	[ "$(dev_field r0 sio_threads)" -eq 12 ]
}

# inflight_max DEV SECONDS: the most requests in flight on block device DEV
# (/sys/block/*/inflight, reads + writes), sampled every 20 ms for SECONDS.
inflight_max() {
	local f=/sys/block/${1##*/}/inflight r w max=0 i
	for ((i = 0; i < $2 * 50; i++)); do
		read -r r w <"$f"
		((r + w > max)) && max=$((r + w))
		sleep 0.02
	done
	echo "$max"
}

# fio_inflight DEV [FIO_ARG...]: the most requests in flight on DEV while fio
# reads 4k at random, queue depth 32, for 4 s through /dev/mars/r0.
fio_inflight() {
	local dev=$1 pid max
	shift
	fio --name=inflight --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=32 \
		--rw=randread --bs=4k --time_based --runtime=4 "$@" >/dev/null &
	pid=$!
	sleep 1
	max=$(inflight_max "$dev" 2)
	wait "$pid" || return 1
	echo "$max"
}

# slow_nullb: /dev/nullb0, a blk-mq device completing every request after 20 ms
# (null_blk's timer mode), so each request started on it shows in its inflight
# count. (dm-delay counts a bio only once its delay is over.)
slow_nullb() {
	grep -q '^null_blk ' /proc/modules && rmmod null_blk
	modprobe null_blk nr_devices=1 queue_mode=2 irqmode=2 completion_nsec=20000000 \
		gb=1 bs=4096 hw_queue_depth=128 || skip "null_blk module not available"
	[ -b /dev/nullb0 ]
}

# aio_depth_run DEV DEPTH: tune r0's aio_depth, then the most reads in flight on
# DEV while fio reads at queue depth 32.
aio_depth_run() {
	"$MARSCTL" tune r0 "aio_depth=$2" >&2 || return 1
	for _ in $(seq 50); do
		[ "$("$MARSCTL" --json tune r0 | jq -r .effective.aio_depth)" = "$2" ] && break
		sleep 0.1
	done
	fio_inflight "$1" --size=16M
}

@test "aio: aio_depth bounds the requests in flight at the backing, changed live" {
	local max2 max16 max
	slow_nullb
	dev_create r0 /dev/nullb0 aio
	"$MARSCTL" maps attach
	max2=$(aio_depth_run /dev/nullb0 2)
	max16=$(aio_depth_run /dev/nullb0 16)
	# back to the default (128): fio's queue depth (32) decides again
	max=$(aio_depth_run /dev/nullb0 128)
	echo "most reads in flight below mars: $max2 at aio_depth=2, $max16 at 16, $max at 128" |
		tap_note
	[ "$max2" -ge 1 ] && [ "$max2" -le 2 ]
	[ "$max16" -gt 2 ] && [ "$max16" -le 16 ]
	[ "$max" -gt 16 ]
}

# sio_inflight_run DEV THREADS: resize r0's pool, drop the page cache, then the
# most reads in flight on DEV while fio reads at queue depth 32.
sio_inflight_run() {
	"$MARSCTL" dev set r0 --threads "$2" >&2 || return 1
	echo 3 >/proc/sys/vm/drop_caches
	fio_inflight "$1"
}

@test "sio: reads that sleep in the backing get up to --threads threads, no more" {
	local max2 max8 pid n
	# Every read misses the page cache (no readahead, 1 GiB at random) and
	# sleeps 20 ms in null_blk: a thread whose request sleeps must hand the
	# queue to another (the plug callback), up to the pool's size.
	slow_nullb
	echo 0 >/sys/block/nullb0/queue/read_ahead_kb
	dev_create r0 /dev/nullb0 sio --threads 2
	max2=$(sio_inflight_run /dev/nullb0 2)
	max8=$(sio_inflight_run /dev/nullb0 8)
	echo "most reads in flight below mars: $max2 with 2 sio threads, $max8 with 8" | tap_note
	[ "$max2" -ge 1 ] && [ "$max2" -le 2 ]
	[ "$max8" -ge 5 ] && [ "$max8" -le 8 ]
	# Shrinking and growing while requests sleep: threads leave only after
	# their request, and no request fails or stays behind.
	fio --name=resize --filename=/dev/mars/r0 --direct=1 --ioengine=libaio --iodepth=32 \
		--rw=randread --bs=4k --time_based --runtime=4 >"$BATS_TEST_TMPDIR/fio.log" 2>&1 &
	pid=$!
	for n in 1 8 3; do
		sleep 0.7
		run -0 "$MARSCTL" dev set r0 --threads "$n"
	done
	run timeout 120 tail --pid="$pid" -f /dev/null
	wait "$pid" || { cat "$BATS_TEST_TMPDIR/fio.log"; false; }
	wait_sio_threads 3
}

@test "dev set --threads on a device without a thread pool is refused" {
	need_brd
	dev_create r0 /dev/ram0 aio
	run -1 "$MARSCTL" dev set r0 --threads 4
	echo "$output"
	[[ "$output" == "marsctl: dev set r0: "* ]]
}

# --- delete ---------------------------------------------------------------------------

@test "delete is refused with EBUSY while the device is open" {
	need_brd
	dev_create r0 /dev/ram0 sio
	exec 8</dev/mars/r0
	[ "$(dev_field r0 open_count)" -eq 1 ]
	run -1 "$MARSCTL" dev delete r0
	echo "$output"
	[[ "$output" == *"Device or resource busy"* ]]
	[ -b /dev/mars/r0 ]
	exec 8<&-
	dev_delete r0
	wait_gone /dev/mars/r0
}

# io_on_fd8 read|write|fsync: one 4k O_DIRECT request (or an fsync) on descriptor
# 8; prints OK (done), EOF (a read of nothing) or the errno; fails after 30 s (a hang).
io_on_fd8() {
	timeout 30 python3 - "$1" <<'PY'
import errno, fcntl, mmap, os, sys
fcntl.fcntl(8, fcntl.F_SETFL, fcntl.fcntl(8, fcntl.F_GETFL) | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
try:
    if sys.argv[1] == "fsync":
        os.fsync(8)
        n = 1
    else:
        n = (os.preadv if sys.argv[1] == "read" else os.pwritev)(8, [buf], 8192)
    print("OK" if n else "EOF")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

# After a forced delete the kernel has set the disk's capacity to 0 (del_gendisk),
# so IO through a descriptor still open cannot move data: a read ends at once (or
# fails with EIO), a write fails (ENOSPC past the end, or EIO), and a flush reaches
# the dead device and fails with EIO.
@test "forced delete of an open device works; IO on the open descriptor then moves nothing" {
	local backend
	need_brd
	for backend in sio aio bio; do
		dev_create r0 /dev/ram0 "$backend"
		exec 8<>/dev/mars/r0
		run -0 io_on_fd8 read
		[ "$output" = OK ]
		dev_delete --force r0
		wait_gone /dev/mars/r0
		[ "$(dev_count)" -eq 0 ]
		run -0 io_on_fd8 read
		echo "$backend: read after forced delete: $output"
		[ "$output" = EIO ] || [ "$output" = EOF ]
		run -0 io_on_fd8 write
		echo "$backend: write after forced delete: $output"
		[ "$output" = EIO ] || [ "$output" = ENOSPC ]
		run -0 io_on_fd8 fsync
		[ "$output" = EIO ]
		exec 8<&-
	done
	# The backing is free again.
	dev_create r0 /dev/ram0 bio
}

@test "deleting a device that does not exist fails with ENOENT" {
	run -1 "$MARSCTL" dev delete nosuch
	echo "$output"
	[[ "$output" == *"No such file or directory"* ]]
}

# --- bad input ------------------------------------------------------------------------

@test "without CAP_SYS_ADMIN, marsctl and every ioctl get EPERM" {
	need_brd
	run -1 setpriv --bounding-set -sys_admin --inh-caps -sys_admin -- \
		"$MARSCTL" dev create r0 --data /dev/ram0
	echo "$output"
	[[ "$output" == *"Operation not permitted"* ]]
	run -0 setpriv --bounding-set -sys_admin --inh-caps -sys_admin -- \
		python3 "$HELPERS/mars_ioctl.py" all
	echo "$output"
	[ "${#lines[@]}" -eq 5 ]
	[ "$(grep -vc ' EPERM$' <<<"$output")" -eq 0 ]
	[ "$(dev_count)" -eq 0 ]
}

@test "marsctl refuses a missing, directory, non-file or too small backing" {
	local small=$BATS_TEST_TMPDIR/small
	truncate -s 1020K "$small"
	run -1 "$MARSCTL" dev create r0 --data /nonexistent/disk
	[[ "$output" == *"'/nonexistent/disk': No such file or directory" ]]
	run -1 "$MARSCTL" dev create r0 --data "$BATS_TEST_TMPDIR"
	[[ "$output" == *"is a directory"* ]]
	run -1 "$MARSCTL" dev create r0 --data /dev/null
	[[ "$output" == *"neither a regular file nor a block device"* ]]
	run -1 "$MARSCTL" dev create r0 --data "$small"
	[[ "$output" == *"less than the minimum of 1 MiB"* ]]
	[ "$(dev_count)" -eq 0 ]
}

@test "marsctl refuses malformed names: slash, too long, empty, leading dot or dash" {
	local name f
	f=$(ext4_file data-names 4M)
	for name in a/b "$(printf 'n%.0s' {1..27})" "" .hidden -dash "sp ace" "é"; do
		run -1 "$MARSCTL" dev create --data "$f" -- "$name"
		echo "$name: $output"
		[[ "$output" == "marsctl: dev create: invalid resource name"* ]]
	done
	# 26 bytes (MARS_NAME_LEN) is the longest name.
	dev_create "$(printf 'n%.0s' {1..26})" "$f" sio
}

@test "marsctl refuses an unknown backend and out-of-range numbers as usage errors" {
	local f
	f=$(ext4_file data-usage 4M)
	run -2 "$MARSCTL" dev create r0 --data "$f" --io xio
	[[ "$output" == *"unknown backend 'xio'"* ]]
	run -2 "$MARSCTL" dev create r0 --data "$f" --threads many
	run -2 "$MARSCTL" dev create r0 --data "$f" --io bio --threads 4
	run -1 "$MARSCTL" dev create r0 --data "$f" --threads 65
	[[ "$output" == *"out of range 1..64"* ]]
	run -1 "$MARSCTL" dev create r0 --data "$f" --queue-depth 1025
	run -2 "$MARSCTL" dev create r0 --data "$f" --bogus
	run -2 "$MARSCTL" dev create r0
	[ "$(dev_count)" -eq 0 ]
}

@test "marsctl refuses a --size larger than the backing or not a multiple of 512" {
	local f
	f=$(ext4_file data-size 4M)
	run -1 "$MARSCTL" dev create r0 --data "$f" --size 5M
	[[ "$output" == *"larger than the backing"* ]]
	run -1 "$MARSCTL" dev create r0 --data "$f" --size 2000000
	[[ "$output" == *"not a multiple"* ]]
	run -1 "$MARSCTL" dev create r0 --data "$f" --size 512K
	[[ "$output" == *"minimum of 1 MiB"* ]]
	run -2 "$MARSCTL" dev create r0 --data "$f" --size 3X
	[ "$(dev_count)" -eq 0 ]
	dev_create r0 "$f" sio --size 3M
	[ "$(dev_field r0 size)" -eq $((3 << 20)) ]
}

@test "a duplicate name is refused with EEXIST and the module's message" {
	local f
	f=$(ext4_file data-dup 4M)
	dev_create r0 "$f" sio
	run -1 "$MARSCTL" dev create r0 --data "$f" --io aio
	echo "$output"
	[[ "$output" == "marsctl: dev create r0: "?*" (File exists)" ]]
	[ "$(dev_count)" -eq 1 ]
	[ "$(dev_field r0 backend)" = sio ]
}

@test "the module refuses bad names with EINVAL and says why (raw ioctls)" {
	local f long
	f=$(ext4_file data-rawnames 4M)
	long=$(printf 'n%.0s' {1..27})
	# Also bytes >= 0x80: the kernel's isalnum() takes Latin-1 letters (0xC0-0xFF,
	# e.g. 0xDD) for letters, the name rule allows only ASCII [A-Za-z0-9_.-].
	raw_batch <<-EOF
		EINVAL: create -- a/b $f
		EINVAL: create -- .x $f
		EINVAL: create -- -x $f
		EINVAL: create -- 'bad name' $f
		EINVAL: create -- '' $f
		EINVAL: create -- $long $f
		EINVAL: create x $f --name-hex $(printf '61%.0s' {1..32})
		EINVAL: create x $f --name-hex 6100626164
		EINVAL: create x $f --name-hex dd4536
		EINVAL: create x $f --name-hex c3a9
		EINVAL: delete -- a/b
		EINVAL: set --threads 2 -- .x
	EOF
	[ "$(dev_count)" -eq 0 ]
}

@test "the module refuses bad backings: ENOENT, EISDIR, ENOSPC, ENOTBLK (raw ioctls)" {
	local f small=$BATS_TEST_TMPDIR/small
	f=$(ext4_file data-rawbacking 4M)
	truncate -s 1020K "$small"
	raw_batch <<-EOF
		ENOENT: create r0 /nonexistent/disk
		EISDIR: create r0 $BATS_TEST_TMPDIR
		ENOSPC: create r0 $small
		ENOSPC: create r0 $small --backend 2
		ENOTBLK: create r0 $f --backend 3
		EINVAL: create r0 /dev/null
	EOF
	[ "$(dev_count)" -eq 0 ]
}

@test "the module refuses bad numbers: backend, size, threads, queue depth (raw ioctls)" {
	local f
	f=$(ext4_file data-rawnum 4M)
	raw_batch <<-EOF
		EINVAL: create r0 $f --backend 0
		EINVAL: create r0 $f --backend 4
		EINVAL: create r0 $f --size $(((2 << 20) + 100))
		ENOSPC: create r0 $f --size $((512 << 10))
		ENOSPC: create r0 $f --size $((8 << 20))
		EINVAL: create r0 $f --threads 65
		EINVAL: create r0 $f --qd 1025
		ENOENT: set r0 --threads 2
		ENOENT: delete r0
	EOF
	[ "$(dev_count)" -eq 0 ]
}

# A struct the module cannot trust (wrong size, unknown flags, reserved fields set)
# is refused before anything is read from it and not copied back: no errmsg.
@test "the module refuses malformed structs and bad pointers (raw ioctls)" {
	local f
	f=$(ext4_file data-rawstruct 4M)
	raw_batch <<-EOF
		EINVAL create r0 $f --struct-size 236
		EINVAL create r0 $f --flags 1
		EINVAL create r0 $f --reserved 1
		EINVAL: create r0 $f --path-len 0
		EINVAL: create r0 $f --path-len 5000
		EINVAL: create r0 $f --path-len 3
		EFAULT: create r0 $f --path-ptr 0xdeadbeef000
		EINVAL delete r0 --flags 6
		EINVAL delete r0 --struct-size 0
		EINVAL set r0 --threads 2 --pad 1
		EINVAL set r0 --reserved 7
		EINVAL list --reserved 1
		EINVAL list --flags 1
		OK list --devs-ptr 1 --capacity 4
	EOF
	[ "$(dev_count)" -eq 0 ]
}

@test "randomized ioctls (5000, seeded) break no rule, leave no device and no splat" {
	local seed=${MARS_FUZZ_SEED:-$RANDOM$RANDOM}
	need_brd
	truncate -s 4M "$BATS_TEST_TMPDIR/fz-file"
	run timeout 150 python3 -X faulthandler "$HELPERS/ioctl_fuzz.py" --seed "$seed" \
		--iterations 5000 \
		--max-seconds 50 --workdir "$BATS_TEST_TMPDIR" \
		--backing "$(ext4_file fuzz 8M)" --backing /dev/ram1 \
		--backing "$BATS_TEST_TMPDIR/fz-file"
	echo "$output"
	echo "exit status $status"
	[ "$status" -eq 0 ]
	[ "$(dev_count)" -eq 0 ]
}

@test "the module unloads after all of it, leaving no device or thread behind" {
	rmmod mars
	wait_gone /dev/mars-ctl
	[ ! -e /dev/mars ] || [ -z "$(ls -A /dev/mars)" ]
	[ "$(sio_threads)" -eq 0 ]
}
