#!/usr/bin/env bats
# Proves that tearing a device down while IO is in flight is clean for every
# backend: a forced delete under a running writer makes the writer fail with IO
# errors instead of hanging, in-flight requests are drained, the backing can be
# reused at once, and the module unloads with no kernel splat.

load _common

setup_file() {
	mars_reset
	insmod "$MARS_KO"
	modprobe brd rd_nr=1 rd_size=65536
}

teardown_file() {
	# After a failed test, leave nothing behind for the next suite.
	mars_reset || return 1
	rmmod brd 2>/dev/null
	return 0
}

# force_delete_under_load BACKEND
force_delete_under_load() {
	run "$MARSCTL" dev create td --data /dev/ram0 --io "$1"
	[ "$status" -eq 0 ]
	fio --name=load --filename=/dev/mars/td --rw=randwrite --bs=4k --iodepth=32 \
		--ioengine=libaio --direct=1 --time_based --runtime=60 --size=32M \
		>/dev/null 2>&1 &
	local fio_pid=$!
	sleep 3
	run timeout 60 "$MARSCTL" dev delete td --force
	[ "$status" -eq 0 ]
	# The writer must end (with errors) promptly, not hang on a dead device.
	run timeout 60 bash -c "while kill -0 $fio_pid 2>/dev/null; do sleep 0.2; done"
	[ "$status" -eq 0 ]
	wait "$fio_pid" || true
	# devtmpfs removes the node asynchronously (devtmpfsd): allow it a moment.
	run timeout 10 bash -c 'while [ -e /dev/mars/td ]; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	# The backing is free again: a new device over it works.
	run "$MARSCTL" dev create td --data /dev/ram0 --io "$1"
	[ "$status" -eq 0 ]
	run "$MARSCTL" dev delete td
	[ "$status" -eq 0 ]
}

@test "forced delete under a running writer: bio backend" {
	require_vm
	force_delete_under_load bio
}

@test "forced delete under a running writer: aio backend" {
	require_vm
	force_delete_under_load aio
}

@test "forced delete under a running writer: sio backend" {
	require_vm
	force_delete_under_load sio
}

@test "rmmod is refused while a resource exists, and works after delete" {
	require_vm
	run "$MARSCTL" dev create idle1 --data /dev/ram0 --io sio
	[ "$status" -eq 0 ]
	run rmmod mars
	[ "$status" -ne 0 ]
	[ -b /dev/mars/idle1 ]
	run "$MARSCTL" dev delete idle1
	[ "$status" -eq 0 ]
	rmmod mars
	run timeout 10 bash -c 'while [ -e /dev/mars/idle1 ]; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	run pgrep '^mars_sio'
	[ "$status" -eq 1 ]
	insmod "$MARS_KO"
}
