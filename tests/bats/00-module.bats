#!/usr/bin/env bats
# Proves that mars.ko loads on the target kernel, registers /dev/mars-ctl with mode
# 0600, answers the ABI handshake, refuses bad ioctl arguments and unprivileged
# callers without a kernel warning, and unloads cleanly.

load _common

setup_file() {
	[ -f "${BATS_TEST_DIRNAME}/../../kmod/mars.ko" ] || return 0
	mars_reset
}

teardown_file() {
	mars_reset
}

# ioctl helper: ioctl_version SIZE_FIELD FLAGS RESERVED0 [CMD_SIZE] -> prints errno name
ioctl_version() {
	python3 - "$@" <<'PY'
import errno, fcntl, os, struct, sys
size_field, flags, res0 = (int(a, 0) for a in sys.argv[1:4])
cmd_size = int(sys.argv[4], 0) if len(sys.argv) > 4 else 88
buf = bytearray(struct.pack('<IIII Q 32s 4Q', size_field, flags, 0, 0, 0, b'', res0, 0, 0, 0))
buf += bytes(max(0, cmd_size - len(buf)))
cmd = (3 << 30) | (cmd_size << 16) | (0xB7 << 8) | 0
fd = os.open('/dev/mars-ctl', os.O_RDWR)
try:
    fcntl.ioctl(fd, cmd, buf)
    major, minor = struct.unpack_from('<II', buf, 8)
    print('OK %d.%d' % (major, minor))
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

@test "mars.ko is built for the running kernel" {
	require_vm
	[ -f "$MARS_KO" ]
	run modinfo -F vermagic "$MARS_KO"
	[ "$status" -eq 0 ]
	[[ "$output" == "$(uname -r) "* ]]
}

@test "loading creates /dev/mars-ctl as a root-only character device" {
	require_vm
	mars_load
	[ -c /dev/mars-ctl ]
	run stat -c '%a %U' /dev/mars-ctl
	[ "$output" = "600 root" ]
}

@test "marsctl version reports the module's ABI" {
	require_vm
	mars_load
	run "$MARSCTL" version
	[ "$status" -eq 0 ]
	[[ "$output" == *"mars.ko: 0."*", ABI 1."* ]]
	run "$MARSCTL" --json version
	[ "$status" -eq 0 ]
	[ "$(jq -r .module.abi_major <<<"$output")" = 1 ]
}

@test "the version ioctl validates size, flags and reserved fields" {
	require_vm
	mars_load
	run ioctl_version 88 0 0
	[[ "$output" == "OK 1."* ]]
	run ioctl_version 80 0 0
	[ "$output" = EINVAL ]
	run ioctl_version 88 1 0
	[ "$output" = EINVAL ]
	run ioctl_version 88 0 7
	[ "$output" = EINVAL ]
	run ioctl_version 96 0 0 96
	[ "$output" = ENOTTY ]
}

@test "ioctls need CAP_SYS_ADMIN" {
	require_vm
	mars_load
	run setpriv --bounding-set -sys_admin --inh-caps -sys_admin -- "$MARSCTL" version
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "unloading removes /dev/mars-ctl" {
	require_vm
	mars_load
	rmmod mars
	wait_gone /dev/mars-ctl
	run "$MARSCTL" version
	[ "$status" -eq 0 ]
	[[ "$output" == *"mars.ko: not loaded"* ]]
}
