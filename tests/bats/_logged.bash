# shellcheck shell=bash
# tests/bats/_logged.bash: what the logger suites (40-logger, 41-logger-replay) share:
# data on /dev/ram0, the log filesystem on /dev/ram1 at $LOGMNT, resource r0.
# Sourced after _common (bats "load").

DATA=/dev/ram0
LOGDEV=/dev/ram1
LOGMNT=/mnt/mars-log
H=mars-vm

# Two 64 MiB RAM disks for the whole suite.
setup_file() {
	[ -f "$MARS_KO" ] || return 0
	mars_reset || return 1
	grep -q '^brd ' /proc/modules && rmmod brd
	modprobe brd rd_nr=2 rd_size=65536 || return 0
	return 0
}

teardown_file() {
	suite_end "$LOGMNT"
}

setup() {
	mars_setup
	require_vm
	[ -b "$DATA" ] || skip "brd (RAM disk) module not available"
	mars_load
}

# log_fs [tmpfs | SIZE]: a fresh log filesystem at $LOGMNT: a 60 MiB tmpfs, or an
# ext4 on $LOGDEV (SIZE: filesystem size, e.g. 40M; default the whole disk).
log_fs() {
	mountpoint -q "$LOGMNT" && umount "$LOGMNT"
	mkdir -p "$LOGMNT"
	if [ "${1:-}" = tmpfs ]; then
		mount -t tmpfs -o size=60M tmpfs "$LOGMNT"
	else
		mkfs.ext4 -q -F "$LOGDEV" ${1:+"$1"}
		mount "$LOGDEV" "$LOGMNT"
	fi
}

# lcreate [options...]: r0 over $DATA (bio) with its log under $LOGMNT.
# shellcheck disable=SC2154 # bats' run sets output and status
lcreate() {
	run "$MARSCTL" --host "$H" dev create r0 --data "$DATA" --io bio --log-dir "$LOGMNT" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -b /dev/mars/r0 ]
}

logdir() {
	echo "$LOGMNT/resource-r0"
}
