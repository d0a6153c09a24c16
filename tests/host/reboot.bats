#!/usr/bin/env bats
# Proves boot-time recovery across a power cut (on the host; boots two VMs on the
# same disk images with vm/run --drive): after `marsctl apply`, a filesystem with
# data on /dev/mars/r0 and sysrq-b, a fresh boot's `marsctl reconcile` loads the
# module, recreates the device from the store alone, and the data is intact.

setup_file() {
	export TOP
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export W=$TOP/build/host-reboot
	rm -rf "$W"
	mkdir -p "$W"
}

teardown_file() {
	rm -rf "$W"
}

setup() {
	cd "$TOP" || return 1
}

@test "reconcile after a power cut recreates the device, data intact" {
	[ -f kmod/mars.ko ] && [ -x build/marsctl ] || skip "build first (make all)"
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing"
	truncate -s 128M "$W/data.img"
	truncate -s 32M "$W/store.img"
	mkfs.ext4 -q -F "$W/store.img"
	cat >"$W/cfg.yaml" <<-EOF
		cluster: reboot
		hosts: [{name: mars-vm, address: 10.77.0.1}]
		resources:
		  - {name: r0, size: 96MiB, backend: sio, primary: mars-vm,
		     hosts: {mars-vm: {data: /dev/vda}}}
	EOF
	# boot 1: apply, write, sync, power cut (vm/run reports a harness status)
	# shellcheck disable=SC2016 # expanded by the guest shell
	run vm/run --drive "$W/data.img" --drive "$W/store.img" --timeout 300 -- bash -c '
		set -e
		mkdir -p /var/lib/mars /mnt/r0
		mount /dev/vdb /var/lib/mars
		build/marsctl --module kmod/mars.ko apply -f "$1/cfg.yaml"
		mkfs.ext4 -q /dev/mars/r0
		mount /dev/mars/r0 /mnt/r0
		head -c 8M /dev/urandom >/mnt/r0/blob
		cp -r docs /mnt/r0/
		(cd /mnt/r0 && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$1/sums"
		sync
		echo 1 >/proc/sys/kernel/sysrq
		echo b >/proc/sysrq-trigger
		sleep 10' _ "$W"
	echo "$output"
	[ "$status" -ge 240 ]
	[ -s "$W/sums" ]
	# boot 2: nothing but the store tells reconcile what to build
	# shellcheck disable=SC2016 # expanded by the guest shell
	run vm/run --drive "$W/data.img" --drive "$W/store.img" --timeout 300 -- bash -c '
		set -e
		mkdir -p /var/lib/mars /mnt/r0
		mount /dev/vdb /var/lib/mars
		[ ! -e /dev/mars-ctl ]
		build/marsctl --module kmod/mars.ko reconcile
		build/marsctl --json status r0 >"$1/status.json"
		mount /dev/mars/r0 /mnt/r0
		(cd /mnt/r0 && sha256sum --quiet -c "$1/sums")
		echo DATA-INTACT
		build/marsctl reconcile
		umount /mnt/r0
		build/marsctl down r0
		rmmod mars' _ "$W"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"create r0"* ]]
	[[ "$output" == *"DATA-INTACT"* ]]
	[[ "$output" == *"nothing to do"* ]]
	[ "$(jq -r '.resources[0].disk' "$W/status.json")" = UpToDate ]
}
