#!/usr/bin/env bats
# Proves the control plane of issue 6 in the VM: `marsctl apply` validates a YAML
# config (file:line:column messages, the journal byte-for-byte unchanged on every
# bad input), writes it as one batch and creates /dev/mars devices; --dry-run and a
# second apply change nothing; removing an open device is refused without --force;
# status (human and JSON) reports what store and kernel say; up/down, reconcile
# (also after the module was unloaded), two concurrent applies, and the low-level
# store commands get/ls/history/put/del/compact/repair.

load _common

H=mars-vm

setup_file() {
	export S=$BATS_FILE_TMPDIR/store CFG=$BATS_FILE_TMPDIR/cfg
	mkdir -p "$CFG"
	# r0's logfiles (log_dir in the config below) from an earlier run
	rm -rf /var/lib/mars/log
	mars_reset
}

teardown_file() {
	mars_reset
}

# m ARGS: marsctl on the test store as host mars-vm, loading our mars.ko if needed.
m() {
	"$MARSCTL" --store "$S" --host "$H" --module "$MARS_KO" "$@"
}

journal_sum() {
	sha256sum "$S/journal" | cut -d' ' -f1
}

# cfg NAME [r1]: write a config with r0 on /dev/vda (and r1 on /dev/vdb).
cfg() {
	local f=$CFG/$1.yaml
	cat >"$f" <<-EOF
		cluster: test
		hosts:
		  - name: $H
		    address: 10.77.0.1
		  - name: other
		    address: 10.77.0.2:7000
		resources:
		  - name: r0
		    size: ${R0_SIZE:-64MiB}
		    backend: bio
		    primary: $H
		    hosts:
		      $H: {data: /dev/vda, log_dir: /var/lib/mars/log}
		      other: {data: /dev/does-not-matter-elsewhere}
	EOF
	if [ "${2:-}" = r1 ]; then
		cat >>"$f" <<-EOF
			  - name: r1
			    size: 32MiB
			    backend: bio
			    hosts:
			      $H: {data: /dev/vdb}
		EOF
	fi
	echo "$f"
}

@test "apply creates the store keys in one batch and the device" {
	require_vm
	run m apply -f "$(cfg base)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"create resource r0"* ]]
	[[ "$output" == *"in one batch"* ]]
	[ -b /dev/mars/r0 ]
	[ "$(m get /res/r0/size)" = 67108864 ]
	[ "$(m get /res/r0/hosts/$H/data)" = /dev/vda ]
	[ "$(m get /cluster/hosts/other/addr)" = 10.77.0.2:7000 ]
	[ "$(m --json store info | jq .records)" -eq 1 ]
}

@test "a second apply of the same file changes nothing and says so" {
	require_vm
	before=$(journal_sum)
	run m apply -f "$CFG/base.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
	[ "$(journal_sum)" = "$before" ]
	run m --json apply -f "$CFG/base.yaml"
	[ "$(jq .changed <<<"$output")" = false ]
}

@test "--dry-run prints the plan (also as JSON) and changes nothing" {
	require_vm
	before=$(journal_sum)
	f=$(cfg more r1)
	run m apply -f "$f" --dry-run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"would create resource r1"* ]]
	[[ "$output" == *"would create r1"* ]]
	run m --json apply -f "$f" --dry-run
	[ "$(jq -r '.plan[] | select(.name == "r1") | .op' <<<"$output")" = create ]
	[ "$(jq -r '.kernel[0].action' <<<"$output")" = create ]
	[ "$(jq .dry_run <<<"$output")" = true ]
	[ "$(journal_sum)" = "$before" ]
	wait_gone /dev/mars/r1
}

# bad CASE-NAME EXPECTED-MESSAGE-PART <<< yaml
bad() {
	local f=$CFG/bad-$1.yaml before out rc=0
	cat >"$f"
	before=$(journal_sum)
	out=$(m apply -f "$f" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -eq 1 ]
	[[ "$out" == *"$f:"[0-9]*:[0-9]*": "*"$2"* ]]
	[ "$(journal_sum)" = "$before" ]
	rc=0
	out=$(m --json apply -f "$f") || rc=$?
	[ "$rc" -eq 1 ]
	jq -e '.error | test(":[0-9]+:[0-9]+: ")' <<<"$out"
	[ "$(journal_sum)" = "$before" ]
}

@test "bad input: every case is refused with file:line:column and the journal unchanged" {
	require_vm
	bad yaml 'expected valid YAML' <<<$'cluster: [x\nhosts: ]'
	bad unknown-key "unknown key 'colour'" <<-EOF
		cluster: test
		colour: blue
		hosts: [{name: $H, address: a}]
	EOF
	bad wrong-type 'expected sio_threads as an integer' <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, sio_threads: many, hosts: {$H: {data: /dev/vda}}}
	EOF
	bad list-type 'expected the list of hosts' <<-EOF
		cluster: test
		hosts: {name: $H}
	EOF
	bad dup-res "duplicate resource name 'r0'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, hosts: {$H: {data: /dev/vda}}}
		  - {name: r0, size: 64MiB, hosts: {$H: {data: /dev/vdb}}}
	EOF
	bad dup-host "duplicate host name '$H'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}, {name: $H, address: b}]
	EOF
	bad unknown-host "unknown host 'ghost'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, hosts: {ghost: {data: /dev/vda}}}
	EOF
	bad unknown-primary "unknown primary host 'ghost'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, primary: ghost, hosts: {$H: {data: /dev/vda}}}
	EOF
	bad missing-device "expected an existing data device" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, hosts: {$H: {data: /dev/no-such-disk}}}
	EOF
	bad tunable-range "expected an integer in 1..86400 for tunable 'stuck_s'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		tunables: {stuck_s: 0}
	EOF
	bad unknown-tunable "unknown tunable 'turbo'" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		tunables: {turbo: 1}
	EOF
	bad size "expected a size" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: huge, hosts: {$H: {data: /dev/vda}}}
	EOF
	bad backend "expected backend sio, aio or bio" <<-EOF
		cluster: test
		hosts: [{name: $H, address: a}]
		resources:
		  - {name: r0, size: 64MiB, backend: zfs, hosts: {$H: {data: /dev/vda}}}
	EOF
	[ -b /dev/mars/r0 ]
}

@test "status: human and JSON from the same snapshot, schema fields" {
	require_vm
	run m status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"r0: role primary, designated primary $H (this host)"* ]]
	[[ "$output" == *"disk UpToDate"* ]]
	run m --json status
	echo "$output"
	[ "$status" -eq 0 ]
	j=$output
	[ "$(jq -r .host <<<"$j")" = "$H" ]
	[ "$(jq -r .cluster <<<"$j")" = test ]
	[ "$(jq .module_loaded <<<"$j")" = true ]
	jq -e '.time_ns > 0' <<<"$j"
	r='.resources[] | select(.name == "r0")'
	# r0 has a log_dir on this host: it runs with the logger
	[ "$(jq -r "$r.role" <<<"$j")" = primary ]
	[ "$(jq -r "$r.disk" <<<"$j")" = UpToDate ]
	[ "$(jq -r "$r.device" <<<"$j")" = /dev/mars/r0 ]
	[ "$(jq -r "$r.backend" <<<"$j")" = bio ]
	[ "$(jq -r "$r.data" <<<"$j")" = /dev/vda ]
	[ "$(jq "$r.size_bytes" <<<"$j")" = 67108864 ]
	[ "$(jq "$r.open_count" <<<"$j")" = 0 ]
	[ "$(jq "$r.is_designated_primary" <<<"$j")" = true ]
	[ "$(jq -r "$r.designated_primary" <<<"$j")" = "$H" ]
	[ "$(jq "$r.member" <<<"$j")" = true ]
	[ "$(jq -r "$r.want" <<<"$j")" = up ]
	[ "$(jq "$r.errors | length" <<<"$j")" = 0 ]
	# the logger's figures (issue 4)
	[ "$(jq "$r.log.seq" <<<"$j")" -ge 1 ]
	[ "$(jq "$r.log.durable" <<<"$j")" -ge 192 ]
	[[ "$(jq -r "$r.writeback.checkpoint" <<<"$j")" =~ ^[0-9]{9}:[0-9]+$ ]]
	[ "$(jq "$r.writeback.pending_bytes" <<<"$j")" -ge 0 ]
	jq -e "$r.writeback.lag_seconds | type == \"number\" and . >= 0" <<<"$j"
	[ "$(jq "$r.emergency" <<<"$j")" = false ]
	[ "$(jq -r "$r.replay | type" <<<"$j")" = object ]
	# r0 started on a fresh log: no replay, so no amount, rate or ETA (null, not 0)
	[ "$(jq -r "$r.replay.state" <<<"$j")" = none ]
	jq -e "$r.replay | .total == null and .done == null and .rate == null and .eta == null" \
		<<<"$j"
	jq -e "$r.replay | has(\"elapsed\") and has(\"bytes\") and has(\"end\")" <<<"$j"
	# known only with replication: null, never 0
	for k in replication sync; do
		[ "$(jq "$r.$k" <<<"$j")" = null ]
	done
	run m status r0
	[[ "$output" == *"log: file 0000000"*"writeback checkpoint"* ]]
	run m --json status r0
	[ "$(jq '.resources | length' <<<"$output")" = 1 ]
	run m --json status nosuch
	[ "$status" -eq 1 ]
	jq -e .error <<<"$output"
}

@test "removing an open device is refused unless --force" {
	require_vm
	f=$CFG/empty.yaml
	printf 'cluster: test\nhosts: [{name: %s, address: a}]\n' "$H" >"$f"
	exec 8</dev/mars/r0
	[ "$(m --json status r0 | jq '.resources[0].open_count')" -ge 1 ]
	before=$(journal_sum)
	run m apply -f "$f"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refusing to remove or rebuild open device(s) r0"* ]]
	[ "$(journal_sum)" = "$before" ]
	[ -b /dev/mars/r0 ]
	exec 8<&-
	run m apply -f "$f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"remove resource r0"* ]]
	wait_gone /dev/mars/r0
	run m get /res/r0/size
	[ "$status" -eq 1 ]
	# and back
	run m apply -f "$CFG/base.yaml"
	[ "$status" -eq 0 ]
	[ -b /dev/mars/r0 ]
}

@test "down detaches, up attaches again; down of an open device needs --force" {
	require_vm
	run m down r0
	echo "$output"
	[ "$status" -eq 0 ]
	wait_gone /dev/mars/r0
	[ "$(m get /res/r0/@$H/want/attach)" = down ]
	[ "$(m --json status r0 | jq -r '.resources[0].disk')" = Detached ]
	run m down r0
	[[ "$output" == *"nothing to do"* ]]
	run m reconcile
	[[ "$output" == *"nothing to do"* ]]
	run m up r0
	[ "$status" -eq 0 ]
	[ -b /dev/mars/r0 ]
	exec 8</dev/mars/r0
	run m down r0
	[ "$status" -eq 1 ]
	[ "$(m get /res/r0/@$H/want/attach)" = up ]
	# options may follow the resource name, as in every other command
	run m down r0 --force
	echo "$output"
	[ "$status" -eq 0 ]
	exec 8<&-
	wait_gone /dev/mars/r0
	[ "$(m get /res/r0/@$H/want/attach)" = down ]
	run m up r0
	[ "$status" -eq 0 ]
	[ -b /dev/mars/r0 ]
	run m up nosuch
	[ "$status" -eq 1 ]
}

@test "reconcile recreates a device deleted behind its back, and loads the module" {
	require_vm
	run m reconcile
	[[ "$output" == *"nothing to do"* ]]
	# delete the device behind reconcile's back (down, then the low-level put
	# restores the wish without a pass), and unload the module entirely
	m down r0
	m put /res/r0/@$H/want/attach up
	rmmod mars
	wait_gone /dev/mars/r0
	run m status
	[[ "$output" == *"Detached"* ]]
	run m reconcile
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loaded mars.ko"* ]]
	[[ "$output" == *"create r0"* ]]
	[ -b /dev/mars/r0 ]
	run m --json reconcile
	[ "$(jq '.actions | length' <<<"$output")" = 0 ]
}

@test "two concurrent applies are serialized and both end correct" {
	require_vm
	a=$CFG/base.yaml
	b=$(cfg more r1)
	m apply -f "$a" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	pa=$!
	m apply -f "$b" >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	pb=$!
	wait "$pa"
	wait "$pb"
	cat "$BATS_TEST_TMPDIR"/*.out
	# whichever committed last wins; the kernel matches the store either way
	run m reconcile
	[[ "$output" == *"nothing to do"* ]]
	if m get /res/r1/size >/dev/null 2>&1; then
		[ -b /dev/mars/r1 ]
	else
		wait_gone /dev/mars/r1
	fi
	[ -b /dev/mars/r0 ]
	# now both in order: the final state is b's
	m apply -f "$b"
	[ -b /dev/mars/r1 ]
	m apply -f "$a"
	wait_gone /dev/mars/r1
}

@test "get, ls, history, put, del; errors in JSON mode are objects" {
	require_vm
	run m put /test/a one
	[ "$status" -eq 0 ]
	m put /test/a two
	m put /test/b three
	[ "$(m get /test/a)" = two ]
	[ "$(m --json get /test/a | jq -r .value)" = two ]
	[ "$(m --json get /test/a | jq -r .origin)" = "$H" ]
	run m ls /test/
	[ "${lines[0]}" = "/test/a = two" ]
	[ "${lines[1]}" = "/test/b = three" ]
	[ "$(m --json ls /test/ | jq length)" = 2 ]
	run m history /test/a
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *" $H one" ]]
	[ "$(m --json history /test/a | jq -r '.[1].value')" = two ]
	m del /test/a
	run m get /test/a
	[ "$status" -eq 1 ]
	run m --json get /test/a
	[ "$(jq -r .error <<<"$output")" = "no such key" ]
	run m history /test/a
	[[ "${lines[2]}" == *"(deleted)" ]]
	# another host's owned key is refused by the store
	run m put /res/r0/@other/want/attach up
	[ "$status" -eq 1 ]
	run m put relative value
	[ "$status" -eq 1 ]
}

@test "store compact keeps the live state; repair finds an intact journal" {
	require_vm
	before=$(m ls /)
	run m store compact
	[ "$status" -eq 0 ]
	[ "$(m ls /)" = "$before" ]
	run m --json store repair
	[ "$(jq .damaged <<<"$output")" = false ]
	run m reconcile
	[[ "$output" == *"nothing to do"* ]]
}

@test "log_dir: the device logs, reconcile persists the writeback checkpoint, recovery replays from it" {
	require_vm
	# r0 has log_dir /var/lib/mars/log on this host: reconcile made it with a logger
	[ "$(m --json dev list | jq -r '.[] | select(.name == "r0") | .log.seq')" -ge 1 ]
	run m reconcile
	echo "$output"
	c0=$(m get /res/r0/@$H/writeback)
	[[ "$c0" =~ ^[0-9]{9}:[0-9]+$ ]]
	head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/p"
	dd if="$BATS_TEST_TMPDIR/p" of=/dev/mars/r0 bs=64k oflag=direct,dsync status=none
	# a crash image: the logfiles as they are now; then the data device loses the
	# writes that came after the persisted checkpoint (only those may be lost)
	rm -rf "$BATS_TEST_TMPDIR/img"
	cp -a /var/lib/mars/log/resource-r0 "$BATS_TEST_TMPDIR/img"
	m down r0 --force
	wait_gone /dev/mars/r0
	rm -rf /var/lib/mars/log/resource-r0
	cp -a "$BATS_TEST_TMPDIR/img" /var/lib/mars/log/resource-r0
	dd if=/dev/zero of=/dev/vda bs=1M count=1 oflag=direct status=none
	[ "$(m get /res/r0/@$H/writeback)" = "$c0" ]
	run m up r0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"replayed"* ]]
	cmp <(dd if=/dev/mars/r0 bs=1M count=1 iflag=direct status=none) "$BATS_TEST_TMPDIR/p"
	# status keeps the figures of that replay
	j=$(m --json status r0)
	echo "$j"
	jq -e '.resources[0].replay | .state == "done" and .total >= 1048576 and
		.done == .total and .rate > 0 and .eta == 0 and (.end | test(":"))' <<<"$j"
	run m status r0
	[[ "$output" == *"replay [##########] 100% "*" MiB/s done in "* ]]
	# and the next reconcile persists the new position, then deletes the logfiles
	# before it (persist first)
	m reconcile
	c1=$(m get /res/r0/@$H/writeback)
	[ "$c1" != "$c0" ]
	first=$((10#${c1%%:*}))
	ls /var/lib/mars/log/resource-r0/
	for f in /var/lib/mars/log/resource-r0/log-*; do
		n=${f##*/log-}
		[ "$((10#${n%%-*}))" -ge "$first" ]
	done
	[ -f "$(printf '/var/lib/mars/log/resource-r0/log-%09d-%s' "$first" "$H")" ]
}

@test "sio: a changed thread count is applied to the running device (DEV_SET)" {
	require_vm
	f=$CFG/sio.yaml
	sed 's/backend: bio/backend: sio\n    sio_threads: 2/' "$CFG/base.yaml" >"$f"
	run m apply -f "$f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"recreate r0: backend bio -> sio"* ]]
	[ "$(m --json status r0 | jq '.resources[0].sio_threads')" = 2 ]
	sed -i 's/sio_threads: 2/sio_threads: 3/' "$f"
	run m apply -f "$f"
	echo "$output"
	[[ "$output" == *"set r0: sio threads 2 -> 3"* ]]
	[ "$(m --json status r0 | jq '.resources[0].sio_threads')" = 3 ]
	run m reconcile
	[[ "$output" == *"nothing to do"* ]]
	m apply -f "$CFG/base.yaml"
}

# gtun FIELD / eff RES FIELD: a tunable in mars_gtun (the map), and a resource's
# effective value as the module publishes it (mars_rstate eff, via marsctl tune).
gtun() {
	bpftool map dump pinned /sys/fs/bpf/mars/mars_gtun | jq ".[0].value.$1"
}

eff() {
	m --json tune "$1" | jq ".effective.$2"
}

# eff_is RES FIELD VALUE: the module applies the maps within state_ms: wait for it.
eff_is() {
	for _ in $(seq 50); do
		[ "$(eff "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "effective $2 of $1 is $(eff "$1" "$2"), expected $3"
	return 1
}

@test "tunables: reconcile writes them into the maps; a change is applied, a removed one is back at its default" {
	require_vm
	f=$CFG/tun.yaml
	# global wb_depth and state_ms, r0's own log_sync_kb and wb_flush_mb
	sed "s/^    primary: $H\$/&\n    tunables: {log_sync_kb: 128, wb_flush_mb: 8}/" "$CFG/base.yaml" >"$f"
	printf 'tunables:\n  wb_depth: 8\n  state_ms: 50\n' >>"$f"
	run m apply -f "$f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tune global: "*"wb_depth=8"* ]]
	[[ "$output" == *"tune r0: "*"log_sync_kb=128"* ]]
	[ "$(gtun wb_depth)" = 8 ]
	[ "$(gtun state_ms)" = 50 ]
	bpftool map dump pinned /sys/fs/bpf/mars/mars_rtun |
		jq -e '.[] | select(.value.name == "r0") | .value.tun | .log_sync_kb == 128 and .wb_flush_mb == 8'
	# effective: r0's own values, the global one inherited
	eff_is r0 log_sync_kb 128
	[ "$(eff r0 wb_depth)" = 8 ]
	[ "$(eff r0 wb_flush_mb)" = 8 ]
	# the same store again: no map is written
	run m reconcile
	echo "$output"
	[[ "$output" == *"nothing to do"* ]]
	[[ "$output" != *"tune"* ]]
	# change one, drop one of r0's: the dropped one goes back to its default
	sed -i 's/wb_depth: 8/wb_depth: 16/; s/log_sync_kb: 128, //' "$f"
	run m apply -f "$f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tune global: wb_depth 8 -> 16"* ]]
	[[ "$output" == *"tune r0: log_sync_kb reset to default"* ]]
	eff_is r0 log_sync_kb 4096
	[ "$(eff r0 wb_depth)" = 16 ]
	# every tunable removed: the maps hold nothing, the defaults rule again
	run m apply -f "$CFG/base.yaml"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(gtun set_mask)" = 0 ]
	eff_is r0 wb_depth 64
	[ "$(eff r0 wb_flush_mb)" = 64 ]
}
