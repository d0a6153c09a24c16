#!/usr/bin/env bats
# The harness self-test, run on the host: proves that vm/run passes exit statuses
# through, and that a failing test, a kernel WARN, a guest panic and a hang each make
# a run fail with a distinct, recorded reason, and that --kill-after cuts the power
# when asked. Boots several VMs.

setup_file() {
	export TOP
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export HRES=$TOP/build/harness-selftest
	rm -rf "$HRES"
	mkdir -p "$HRES"
}

setup() {
	cd "$TOP" || return 1
}

@test "vm/run boots the headers' kernel ABI and passes exit statuses through" {
	. vm/lib.sh
	run vm/run -- uname -r
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$(mars_kabi)" ]
	run vm/run -- true
	[ "$status" -eq 0 ]
	run vm/run -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *"console log: "*"/build/vm/logs/"* ]]
}

@test "a failing test and a kernel WARN inside a passing test both fail the run" {
	run tests/run-vm "$HRES/fixtures" tests/harness/fixtures/fail.bats \
		tests/harness/fixtures/warn.bats
	[ "$status" -ne 0 ]
	grep -q '^not ok 1 fixture: this test fails on purpose' "$HRES/fixtures/bats-fail.tap"
	grep -q '^ok 2 fixture: this test passes' "$HRES/fixtures/bats-fail.tap"
	grep -q '^not ok 1 fixture: a kernel WARN during a passing test body' \
		"$HRES/fixtures/bats-warn.tap"
	grep -q 'kernel splat' "$HRES/fixtures/bats-warn.tap"
	grep -q '^ok 2 fixture: the next test is not blamed' "$HRES/fixtures/bats-warn.tap"
	run tests/summarize "$HRES/fixtures"
	[ "$status" -eq 1 ]
	[ "${lines[-1]}" = "2 passed, 2 failed, 0 skipped" ]
}

@test "a guest kernel panic gives vm/run's panic status and a failing result" {
	run vm/run -- insmod tests/kmod/mars_splat.ko action=panic
	[ "$status" -eq 240 ]
	[[ "$output" == *"guest kernel panic"* ]]
	[[ "$output" == *"mars_splat: panic requested"* ]]
}

@test "a hung guest is killed at the timeout with vm/run's timeout status" {
	run vm/run --timeout 15 -- sleep 600
	[ "$status" -eq 241 ]
	[[ "$output" == *"timeout"* ]]
}

@test "vm/run --kill-after cuts the power: status 243, counted from --kill-start's file" {
	rm -f "$HRES/armed"
	# the count starts when the guest creates the file, 3 s after the command started
	start=$SECONDS
	# shellcheck disable=SC2016 # expanded by the guest shell
	run vm/run --kill-after 2 --kill-start "$HRES/armed" --timeout 120 -- \
		bash -c 'echo before; sleep 3; : >"$1"; echo ARMED-NOW; sleep 60; echo NOT-REACHED' _ "$HRES/armed"
	echo "$output"
	[ "$status" -eq 243 ]
	[[ "$output" == *ARMED-NOW* ]]
	[[ "$output" != *NOT-REACHED* ]]
	[[ "$output" == *"power cut: QEMU killed 2s after $HRES/armed appeared"* ]]
	[ $((SECONDS - start)) -lt 60 ]
	# a command that ends before the cut keeps its own status
	run vm/run --kill-after 60 --timeout 120 -- sh -c 'exit 4'
	[ "$status" -eq 4 ]
}

@test "run-vm records a panic as a failed test" {
	run tests/run-vm "$HRES/panic" tests/harness/fixtures/panic.bats
	[ "$status" -eq 240 ]
	grep -q '^not ok - vm: guest kernel panic' "$HRES/panic/vm.tap"
}
