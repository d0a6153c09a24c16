# shellcheck shell=bash
# Loaded by every BATS suite (`load _common`). Gives each test a kernel log marker
# before it runs and fails it when the kernel log shows a splat after it, even if
# the test body passed. A suite that needs its own setup/teardown calls
# mars_setup / mars_teardown from them.

_mars_bats_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bats/_splat.bash
. "$_mars_bats_dir/_splat.bash"

MARS_TOP=${MARS_TOP:-$(cd "$_mars_bats_dir/../.." && pwd)}
export MARSCTL=$MARS_TOP/build/marsctl
export MARS_KO=$MARS_TOP/kmod/mars.ko

mars_setup() {
	MARS_TEST_MARK=$(splat_mark "test $BATS_TEST_NAME")
}

mars_teardown() {
	local rc=0
	splat_check "$MARS_TEST_MARK" >&2 || rc=1
	splat_end "$MARS_TEST_MARK"
	return "$rc"
}

setup() {
	mars_setup
}

teardown() {
	mars_teardown
}

# Skip unless we are inside the test VM (tests load modules and make devices).
require_vm() {
	[ -n "${MARS_IN_VM:-}" ] || [ "$(hostname)" = mars-vm ] || grep -q 'mars.run=' /proc/cmdline ||
		skip "needs the test VM (run through tests/run-vm)"
}

# Load mars.ko unless loaded.
mars_load() {
	grep -q '^mars ' /proc/modules || insmod "$MARS_KO"
}

mars_unload() {
	if grep -q '^mars ' /proc/modules; then
		rmmod mars
	fi
}

# mars_reset: no mars device and no mars.ko left, whatever an earlier suite or a
# failed test left behind. Every suite's setup_file and teardown_file call it, so a
# leak fails where it happens and says what held the module.
mars_reset() {
	local d _
	grep -q '^mars ' /proc/modules || return 0
	for d in $("$MARSCTL" --json dev list 2>/dev/null | jq -r '.[].name' 2>/dev/null); do
		"$MARSCTL" dev delete "$d" --force >/dev/null || echo "mars_reset: cannot delete $d" >&2
	done
	for _ in $(seq 50); do
		rmmod mars 2>/dev/null && return 0
		sleep 0.1
	done
	{
		echo "mars_reset: mars.ko still in use after 5 s:"
		grep '^mars ' /proc/modules
		"$MARSCTL" dev list
		bpftool prog show 2>/dev/null | grep -i mars
	} >&2
	return 1
}

# wait_gone PATH: succeed once PATH does not exist. Device nodes are removed by
# devtmpfs asynchronously, so right after a delete or rmmod they may linger briefly.
wait_gone() {
	local _
	for _ in $(seq 100); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	echo "$1 still exists after 10 s" >&2
	return 1
}

# dm_dev NAME: the device node of dm device NAME (/dev/dm-N, made by devtmpfs;
# without udev in the guest there is no /dev/mapper/NAME). Waits up to 10 s for
# the node, with builtins only (under TCG every command started costs).
dm_dev() {
	local f n i
	for f in /sys/block/dm-*/dm/name; do
		read -r n <"$f" || continue
		[ "$n" = "$1" ] || continue
		f=${f%/dm/name}
		for ((i = 0; i < 100; i++)); do
			[ -b "/dev/${f##*/}" ] && echo "/dev/${f##*/}" && return 0
			sleep 0.1
		done
		break
	done
	echo "no dm device $1" >&2
	return 1
}

# tap_note: stdin as TAP comments, shown for passing tests too (figures and
# outputs that docs/observability.md quotes), and on stdout (shown on failure).
tap_note() {
	local l
	while IFS= read -r l; do
		echo "# $l"
		echo "# $l" >&3
	done
}

# suite_end [MOUNTPOINT]: what a suite's teardown_file does after RAM-disk tests:
# unmount MOUNTPOINT if mounted, unload mars (mars_reset), unload brd.
suite_end() {
	if [ -n "${1:-}" ] && mountpoint -q "$1"; then
		umount "$1"
	fi
	mars_reset || return 1
	grep -q '^brd ' /proc/modules && rmmod brd
	return 0
}
