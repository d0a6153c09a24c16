#!/usr/bin/env bats
# Proves the store's durability promise under kill -9 (on the host, no VM): every
# batch acknowledged before the kill is there after reopening, and no batch is there
# in part. 20 kills here; `make killloop` runs 1000.

@test "kill -9 during store writes loses no acknowledged batch and leaves no partial one" {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	[ -x "$top/build/bench/store_bench" ] || skip "build/bench/store_bench missing: make userspace"
	run "$top/tests/host/store-killloop.sh" "${MARS_KILLLOOP_ITERS:-20}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no partial batch"* ]]
}
