#!/usr/bin/env bats
# Proves that a power cut loses no acknowledged write (on the host; boots the VM
# once per cycle on kept disk images, see tests/host/powercut.sh): crashwriter writes
# self-verifying blocks through /dev/mars/r0, with fdatasync/fsync and O_DSYNC (FUA)
# writes, and journals what was acknowledged; vm/run --kill-after SIGKILLs QEMU at a
# random moment; the next boot recovers the resource (with the transaction logger:
# dev create --log-dir replays the log) and crashverify finds every acknowledged
# write there or superseded, and no block that was never written. `make crashtest
# N=...` runs longer loops. MARS_CRASH_PLAIN=1 runs it on a plain resource.
#
# What this cannot catch: QEMU's disk writes are in the host's files once the guest
# sees them complete, so a missing FLUSH goes unnoticed here; 40-crashstates.bats
# (dm-log-writes) catches that.

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	cd "$TOP" || return 1
	export MARS_POWERCUT_DIR=$TOP/build/host-powercut
}

teardown() {
	# Kept after a failure: the images, the journal and each boot's output.
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
		rm -rf "$MARS_POWERCUT_DIR"
	else
		echo "powercut: work folder kept: $MARS_POWERCUT_DIR"
	fi
}

@test "power cuts during writes lose no acknowledged write, show nothing never written" {
	[ -f kmod/mars.ko ] && [ -x build/marsctl ] && [ -x build/tools/crashwriter ] ||
		skip "build first (make all)"
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing"
	cycles=${MARS_POWERCUT_CYCLES:-5}
	run tests/host/powercut.sh "$cycles"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"crashtest: cycles $cycles, acked writes verified "*", losses 0, never-written blocks 0"* ]]
	# the writer ran and acknowledged something, or the test proved nothing
	verified=$(sed -n 's/^crashtest: .*acked writes verified \([0-9]*\),.*/\1/p' <<<"$output")
	[ "$verified" -gt 0 ]
	grep -E '^(crashtest|powercut): ' <<<"$output" | sed 's/^/# /' >&3
}
