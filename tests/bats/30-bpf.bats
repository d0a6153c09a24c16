#!/usr/bin/env bats
# Proves issue 5's BPF interface: marsctl pins the maps (0600) and hands them to
# mars.ko; bpftool shows named fields; the IO counters and latency histograms equal
# a deterministic workload; tunables written with marsctl tune (or bpftool) change
# behaviour live and invalid ones are clamped visibly; the mars tracepoints work
# from tracefs, bpftrace and marsctl top; module reloads, deleted pins and wrong
# map fds keep the module coherent and splat-free; rmmod is refused only while a
# tracing program is attached; a deleted resource leaves no tunables behind. Module
# BTF (scripts/kmod-btf): /sys/kernel/btf/mars is loaded over the running kernel's
# own BTF and names mars types, and bpftrace's kfunc:mars:... probes attach to
# module functions and count a workload exactly.

load _common

DEV=/dev/vda
PIN=/sys/fs/bpf/mars

setup_file() {
	mars_reset || return 1
	rm -rf /sys/fs/bpf/mars
}

teardown_file() {
	mars_reset
}

dev() { "$BATS_TEST_DIRNAME/_dev.py" "$@"; }
rawmap() { "$BATS_TEST_DIRNAME/_bpf.py" "$@"; }

# ensure_res NAME [THREADS]: the module is loaded and resource NAME exists over $DEV
ensure_res() {
	mars_load
	[ -e "/dev/mars/$1" ] || dev create "$1" "$DEV" sio "${2:-0}"
	"$MARSCTL" maps attach
}

# io_field RES FIELD: one summed IO counter from marsctl stats --json
io_field() {
	"$MARSCTL" --json stats "$1" | jq -r ".[0].io.$2"
}

# sio_threads_are N: exactly N mars_sio kthreads exist
sio_threads_are() {
	[ "$(pgrep -c '^mars_sio/')" = "$1" ]
}

# top_attached: marsctl top's program is loaded
top_attached() {
	bpftool prog show | grep -q handle_req_done
}

# wait_for CMD...: retry for up to 5 s (the publisher runs every state_ms)
wait_for() {
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

@test "marsctl pins the maps with mode 0600 and hands them to the module" {
	require_vm
	mars_load
	run rawmap info
	[ "$output" = "1=0 2=0 3=0 4=0 5=0 6=0" ]
	"$MARSCTL" maps attach
	run stat -c '%a' "$PIN" "$PIN"/mars_gtun "$PIN"/mars_rstate "$PIN"/mars_lat
	[ "${lines[*]}" = "700 600 600 600" ]
	run "$MARSCTL" --json maps
	[ "$status" -eq 0 ]
	[ "$(jq '[.[] | select(.pinned_id == 0 or .pinned_id != .module_id)] | length' <<<"$output")" = 0 ]
	run "$MARSCTL" version
	[[ "$output" == *"features 0x7"* ]]
}

@test "bpftool map dump shows named fields of state and tunables" {
	require_vm
	ensure_res r0
	wait_for bash -c "bpftool map dump pinned $PIN/mars_rstate | grep -q '\"name\": \"r0\"'"
	run bpftool map dump pinned "$PIN"/mars_rstate
	[[ "$output" == *'"name": "r0"'* ]]
	[[ "$output" == *'"open_count": 0'* ]]
	[[ "$output" == *'"sio_threads": 4'* ]]
	run bpftool map dump pinned "$PIN"/mars_gstate
	[[ "$output" == *'"map_abi": 2'* ]]
	[[ "$output" == *'"res_max": 1024'* ]]
	[[ "$output" == *'"release": "0.'* ]]
}

@test "IO counters and latency histograms equal a deterministic workload" {
	require_vm
	ensure_res r0
	# A fresh slot: recreate the resource so counters start at zero.
	dev delete r0
	dev create r0 "$DEV" sio 0
	"$MARSCTL" maps attach
	[ "$(io_field r0 writes)" = 0 ]
	# 37 4k O_DIRECT writes, then 5 fsyncs (one FLUSH each), then 3 4k direct reads.
	python3 - <<'PY'
import mmap, os
fd = os.open('/dev/mars/r0', os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
buf.write(b'x' * 4096)
for i in range(37):
    os.pwrite(fd, buf, i * 4096)
for i in range(5):
    os.fsync(fd)
for i in range(3):
    os.preadv(fd, [buf], i * 4096)
os.close(fd)
PY
	run "$MARSCTL" --json stats --latency r0
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(jq '.[0].io.writes' <<<"$output")" = 37 ]
	[ "$(jq '.[0].io.write_bytes' <<<"$output")" = $((37 * 4096)) ]
	[ "$(jq '.[0].io.flushes' <<<"$output")" = 5 ]
	[ "$(jq '.[0].io.reads >= 3' <<<"$output")" = true ]
	[ "$(jq '.[0].io.write_errors' <<<"$output")" = 0 ]
	[ "$(jq '.[0].latency[] | select(.slot == "if" and .op == "write") | .count' <<<"$output")" = 37 ]
	[ "$(jq '.[0].latency[] | select(.slot == "if" and .op == "flush") | .count' <<<"$output")" = 5 ]
	[ "$(jq '.[0].latency[] | select(.slot == "if" and .op == "write") | .log2_buckets | add' <<<"$output")" = 37 ]
	# The data backend (sio, no logger) serves each of them once: its own slot.
	[ "$(jq '.[0].latency[] | select(.slot == "data" and .op == "write") | .count' <<<"$output")" = 37 ]
	[ "$(jq '.[0].latency[] | select(.slot == "data" and .op == "flush") | .count' <<<"$output")" = 5 ]
	run "$MARSCTL" stats --latency r0
	[[ "$output" == *"if write: 37 requests"* ]]
	[[ "$output" == *"data write: 37 requests"* ]]
}

@test "marsctl tune changes the sio pool live; the per-resource value wins, default restores" {
	require_vm
	ensure_res r0
	dev delete r0
	dev create r0 "$DEV" sio 2
	sio_threads_are 2
	# IO keeps running while the pool grows and shrinks.
	dd if=/dev/zero of=/dev/mars/r0 bs=4k count=1000 oflag=direct 2>/dev/null &
	ddpid=$!
	"$MARSCTL" tune r0 sio_threads=6
	wait_for sio_threads_are 6
	# A global value does not beat DEV_CREATE's 2 or the override of 6 ...
	"$MARSCTL" tune sio_threads=3
	sleep 0.5
	sio_threads_are 6
	# ... and after clearing the override the DEV_CREATE value is back.
	"$MARSCTL" tune r0 sio_threads=default
	wait_for sio_threads_are 2
	wait "$ddpid"
	"$MARSCTL" tune sio_threads=default
	run "$MARSCTL" --json tune r0
	[ "$(jq .effective.sio_threads <<<"$output")" = 2 ]
	run "$MARSCTL" tune r0 sio_threads=65
	[ "$status" -eq 2 ]
	[[ "$output" == *"not in 1..64"* ]]
	run "$MARSCTL" tune r0 state_ms=50
	[ "$status" -eq 2 ]
	[[ "$output" == *"global only"* ]]
}

@test "a deleted resource's mars_rtun slot is cleared: a new one of the same name starts fresh" {
	require_vm
	ensure_res r0
	dev delete r0
	dev create r0 "$DEV" sio 0
	"$MARSCTL" maps attach
	slot=$("$MARSCTL" --json stats r0 | jq -r '.[0].res_id')
	"$MARSCTL" tune r0 aio_depth=7 wb_rate_kib=99
	run bpftool map lookup pinned "$PIN"/mars_rtun key "$slot" 0 0 0
	[[ "$output" == *'"name": "r0"'* ]]
	[[ "$output" == *'"aio_depth": 7'* ]]
	wait_for bash -c "$MARSCTL --json tune r0 | jq -e '.effective.aio_depth == 7'"
	dev delete r0
	run bpftool map lookup pinned "$PIN"/mars_rtun key "$slot" 0 0 0
	echo "$output"
	[[ "$output" == *'"name": ""'* ]]
	[[ "$output" == *'"set_mask": 0'* ]]
	[[ "$output" == *'"aio_depth": 0'* ]]
	# The same name in the same slot: nothing inherited.
	dev create r0 "$DEV" sio 0
	"$MARSCTL" maps attach
	[ "$("$MARSCTL" --json stats r0 | jq -r '.[0].res_id')" = "$slot" ]
	sleep 0.5
	run "$MARSCTL" --json tune r0
	echo "$output"
	[ "$(jq .effective.aio_depth <<<"$output")" = 128 ]
	[ "$(jq .effective.wb_rate_kib <<<"$output")" = 4294967295 ]
	[ "$(jq .from_map_mask <<<"$output")" = 0 ]
}

@test "an invalid tunable written with bpftool is clamped, and that is visible" {
	require_vm
	ensure_res r0
	# set_mask = bit 0 (sio_threads) | bit 20 (reserved); sio_threads = 1000
	val=$(python3 -c 'import struct,sys; b=struct.pack("<QI", 1 | 1 << 20, 1000) + bytes(124); print(" ".join("0x%02x" % c for c in b))')
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN"/mars_gtun key 0 0 0 0 value $val
	wait_for bash -c "bpftool map dump pinned $PIN/mars_gstate | grep -q '\"clamped_mask\": 1048577'"
	run "$MARSCTL" --json tune
	[ "$(jq .effective.sio_threads <<<"$output")" = 64 ]
	[ "$(jq .clamped_mask <<<"$output")" = 1048577 ]
	zero=$(python3 -c 'print(" ".join(["0x00"] * 136))')
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN"/mars_gtun key 0 0 0 0 value $zero
	wait_for bash -c "bpftool map dump pinned $PIN/mars_gstate | grep -q '\"clamped_mask\": 0'"
}

@test "tracefs: mars:res and mars:req_done events carry the documented fields" {
	require_vm
	ensure_res r0
	T=/sys/kernel/tracing
	run cat $T/events/mars/req_done/format
	for f in 'char res[32]' res_id slot op pos len latency_ns error; do
		[[ "$output" == *"$f"* ]]
	done
	echo 1 >$T/events/mars/res/enable
	echo 1 >$T/events/mars/req_done/enable
	echo >$T/trace
	dev create r1 /dev/vdb sio 0
	dd if=/dev/zero of=/dev/mars/r1 bs=4k count=1 oflag=direct 2>/dev/null
	dev delete r1
	echo 0 >$T/events/mars/enable
	run cat $T/trace
	echo "$output"
	[[ "$output" == *"res: res=r1 res_id=1 action=0 error=0"* ]]
	[[ "$output" == *"req_done: res=r1 res_id=1 slot=0 op=1 pos=0 len=4096 latency_ns="* ]]
	# the same write in the data backend (slot 2), done before the if brick's
	[[ "$output" == *"req_done: res=r1 res_id=1 slot=2 op=1 pos=0 len=4096 latency_ns="* ]]
	[[ "$output" == *"res: res=r1 res_id=1 action=1 error=0"* ]]
}

@test "bpftrace recipe: latency histogram and op counts from tracepoint:mars:req_done" {
	require_vm
	command -v bpftrace >/dev/null || skip "bpftrace is not installed"
	ensure_res r0
	run timeout 120 bpftrace -e '
tracepoint:mars:req_done /args->slot == 0/ {
	@lat_us[args->res] = hist(args->latency_ns / 1000);
	@ops[args->res, args->op] = count();
}' -c "$(readlink -f "$(command -v dd)") if=/dev/zero of=/dev/mars/r0 bs=4k count=25 oflag=direct"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"@lat_us[r0]:"* ]]
	[[ "$output" == *"@ops[r0, 1]: 25"* ]]
}

@test "marsctl top shows live IOPS per resource and detaches on exit" {
	require_vm
	ensure_res r0
	( sleep 4; dd if=/dev/zero of=/dev/mars/r0 bs=4k count=1000 oflag=direct 2>/dev/null ) &
	run "$MARSCTL" --json top --interval 2 --iterations 5
	wait
	echo "$output"
	[ "$status" -eq 0 ]
	# One JSON array per interval; some interval saw r0's writes.
	[ "$(jq -s '[.[][] | select(.resource == "r0" and .op == "write" and .iops > 0)] | length > 0' <<<"$output")" = true ]
	run top_attached
	[ "$status" -ne 0 ]
}

# top_requests FILE SLOT OP: requests of r0 in SLOT/OP summed over top's samples.
top_requests() {
	jq -s "[.[][] | select(.resource == \"r0\" and .slot == \"$2\" and .op == \"$3\") | .requests] | add // 0" "$1"
}

@test "marsctl top counts each request of a workload once, per brick slot and op" {
	require_vm
	ensure_res r0
	"$MARSCTL" --json top --interval 1 --iterations 120 >"$BATS_TEST_TMPDIR/top.json" &
	toppid=$!
	wait_for top_attached
	dd if=/dev/zero of=/dev/mars/r0 bs=4k count=300 oflag=direct status=none
	dd if=/dev/mars/r0 of=/dev/null bs=4k count=20 iflag=direct status=none
	# two more samples, then SIGTERM: top exits after its current sample
	sleep 2.5
	kill "$toppid"
	wait "$toppid" || true
	run top_attached
	[ "$status" -ne 0 ]
	f=$BATS_TEST_TMPDIR/top.json
	# sio completes in its threads: no event is lost to a nested program run
	[ "$(top_requests "$f" if write)" = 300 ]
	[ "$(top_requests "$f" data write)" = 300 ]
	# udev may read the device after a writer closed it
	[ "$(top_requests "$f" if read)" -ge 20 ]
	[ "$(top_requests "$f" if flush)" = 0 ]
}

@test "rmmod is refused while a tracing program is attached, and works after it exits" {
	require_vm
	ensure_res r0
	dev delete r0
	"$MARSCTL" top --interval 1 --iterations 60 >/dev/null &
	toppid=$!
	wait_for top_attached
	run rmmod mars
	[ "$status" -ne 0 ]
	grep -q '^mars ' /proc/modules
	kill "$toppid"
	wait "$toppid" || true
	rmmod mars
	run grep -q '^mars ' /proc/modules
	[ "$status" -ne 0 ]
}

@test "module reload: maps are re-handed and stale state slots are cleared" {
	require_vm
	for _ in 1 2; do
		mars_load
		"$MARSCTL" maps attach
		dev create r0 "$DEV" sio 0
		dev delete r0
		# A slot the old instance (or anyone) left behind.
		val=$(python3 -c 'import struct; b=struct.pack("<IIQ", 2, 7, 99) + bytes(488); print(" ".join("0x%02x" % c for c in b))')
		# shellcheck disable=SC2086
		bpftool map update pinned "$PIN"/mars_rstate key 7 0 0 0 value $val
		rmmod mars
		mars_load
		run rawmap info
		[ "$output" = "1=0 2=0 3=0 4=0 5=0 6=0" ]
		"$MARSCTL" maps attach
		run bpftool map lookup pinned "$PIN"/mars_rstate key 7 0 0 0
		[[ "$output" == *'"gen": 0'* ]]
		run "$MARSCTL" --json maps
		[ "$(jq '[.[] | select(.pinned_id != .module_id)] | length' <<<"$output")" = 0 ]
		rmmod mars
	done
}

@test "wrong map fds are rejected with a clear error" {
	require_vm
	mars_load
	"$MARSCTL" maps attach
	run rawmap attach 4 fd:987
	[ "$output" = "EBADF: fd 987 is not open" ]
	run rawmap attach 4 file:/etc/hostname
	[[ "$output" == "EINVAL: fd "*" is not a BPF map" ]]
	run rawmap attach 4 "$PIN"/mars_gtun
	[[ "$output" == "EINVAL: key/value size 4/136, mars_rstate needs 4/504" ]]
	run rawmap attach 6 "$PIN"/mars_io
	[[ "$output" == "EINVAL: map type 6, mars_lat needs 1" ]]
	run rawmap attach 9 "$PIN"/mars_io
	[ "$output" = "EINVAL: unknown map kind 9" ]
	rm -f /sys/fs/bpf/nobtf
	bpftool map create /sys/fs/bpf/nobtf type array key 4 value 136 entries 1 name mars_gtun
	run rawmap attach 1 /sys/fs/bpf/nobtf
	rm -f /sys/fs/bpf/nobtf
	[ "$output" = "EINVAL: mars_gtun carries no BTF (create it from mars_maps.bpf.o)" ]
	# The maps that were attached are still attached.
	run "$MARSCTL" --json maps
	[ "$(jq '[.[] | select(.pinned_id != .module_id)] | length' <<<"$output")" = 0 ]
}

@test "a deleted pin: the module keeps working, marsctl re-creates and re-hands it" {
	require_vm
	ensure_res r0
	old=$("$MARSCTL" --json maps | jq '.[] | select(.map == "mars_io") | .module_id')
	rm "$PIN"/mars_io
	dd if=/dev/zero of=/dev/mars/r0 bs=4k count=4 oflag=direct 2>/dev/null
	[ "$(io_field r0 writes)" = 0 ]	# a new, empty map
	new=$("$MARSCTL" --json maps | jq '.[] | select(.map == "mars_io") | .module_id')
	[ "$new" != "$old" ]
	[ -e "$PIN"/mars_io ]
	dd if=/dev/zero of=/dev/mars/r0 bs=4k count=3 oflag=direct 2>/dev/null
	[ "$(io_field r0 writes)" = 3 ]
	gen=$(bpftool map dump pinned "$PIN"/mars_gstate | jq '.[0].value.maps_gen')
	[ "$gen" -ge 7 ]
}

# require_btf: mars.ko carries BTF (the build made it; KMOD_BTF=0 leaves it out)
require_btf() {
	readelf -SW "$MARS_KO" | grep -q ' .BTF ' ||
		skip "mars.ko has no BTF (built with KMOD_BTF=0?)"
}

# kfunc_attached: a bpftrace kfunc (fentry) program is attached
kfunc_attached() {
	bpftool link show | grep -q trace_fentry
}

@test "module BTF: /sys/kernel/btf/mars is loaded over the running kernel's BTF" {
	require_vm
	require_btf
	mars_reset
	mars_load
	[ -e /sys/kernel/btf/mars ]
	# The base it was split against is the running kernel's, byte for byte...
	run sha256sum /sys/kernel/btf/vmlinux
	[ "${output%% *}" = "$(cat "$MARS_TOP"/build/btf/vmlinux.btf.sha256)" ]
	# ...and the kernel took the module's BTF as the build wrote it.
	objcopy --dump-section .BTF="$BATS_TEST_TMPDIR/mars.btf" "$MARS_KO" "$BATS_TEST_TMPDIR/scratch.ko"
	cmp "$BATS_TEST_TMPDIR/mars.btf" /sys/kernel/btf/mars
	run bpftool btf dump file /sys/kernel/btf/mars
	[ "$status" -eq 0 ]
	[[ "$output" == *"STRUCT 'mref' size="* ]]
	[[ "$output" == *"'len' type_id="* ]]
	[[ "$output" == *"FUNC 'mars_sio_submit' type_id="* ]]
	run bpftool btf show
	[[ "$output" == *"name [mars]  size "* ]]
	if command -v bpftrace >/dev/null; then
		run timeout 120 bpftrace -lv 'kfunc:mars:mars_sio_submit'
		[[ "$output" == *"struct mref * m"* ]]
	fi
	# No BTF verifier complaint ("BPF: ...", "failed to validate module") since insmod.
	run bash -c "dmesg | sed -n '/$MARS_TEST_MARK/,\$p' | grep -E 'BPF:|failed to validate'"
	[ "$status" -eq 1 ]
}

@test "bpftrace recipe: kfunc:mars:mars_sio_submit counts the requests of a workload" {
	require_vm
	require_btf
	command -v bpftrace >/dev/null || skip "bpftrace is not installed"
	ensure_res r0
	run timeout 120 bpftrace -e '
kfunc:mars:mars_sio_submit {
	@ops[str(args->b->type->name), args->m->op] = count();
	@bytes[args->m->op] = sum(args->m->len);
}' -c "$(readlink -f "$(command -v dd)") if=/dev/zero of=/dev/mars/r0 bs=4k count=25 oflag=direct"
	echo "$output"
	[ "$status" -eq 0 ]
	# 25 writes (op 1, MREF_WRITE) of 4 KiB reach the sio backend, nothing else writes.
	[[ "$output" == *"@ops[sio, 1]: 25"* ]]
	[[ "$output" == *"@bytes[1]: 102400"* ]]
}

@test "rmmod is refused while a kfunc program is attached, and works after it exits" {
	require_vm
	require_btf
	command -v bpftrace >/dev/null || skip "bpftrace is not installed"
	mars_reset
	mars_load
	bpftrace -e 'kfunc:mars:mars_sio_submit { @n = count(); }' >/dev/null &
	bt=$!
	wait_for kfunc_attached
	run rmmod mars
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Module mars is in use"* ]]
	grep -q '^mars ' /proc/modules
	kill -INT "$bt"
	wait "$bt" || true
	wait_for bash -c '! bpftool link show | grep -q trace_fentry'
	rmmod mars
	run grep -q '^mars ' /proc/modules
	[ "$status" -ne 0 ]
	[ ! -e /sys/kernel/btf/mars ]
}
