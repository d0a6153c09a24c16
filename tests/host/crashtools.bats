#!/usr/bin/env bats
# Proves that the crash-test tools can fail (on the host, no VM; image files in the
# test's temporary folder): crashverify reports a lost acknowledged write (a zeroed
# block, an older version), a torn, misplaced or foreign block, honours
# --acked-upto and --record, and survives a torn journal record; replaylog lists and
# replays a hand-made dm-log-writes log to exactly the requested point and refuses a
# malformed one.

bats_require_minimum_version 1.5.0

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	T=$TOP/build/tools
	if ! [ -x "$T/crashwriter" ] || ! [ -x "$T/crashverify" ] || ! [ -x "$T/replaylog" ]; then
		skip "build first (make all)"
	fi
	D=$BATS_TEST_TMPDIR
	truncate -s 4M "$D/img"
	# crashwriter opens its device with O_DIRECT, which some filesystems refuse.
	if ! dd if=/dev/zero of="$D/img" bs=4k count=1 oflag=direct conv=notrunc 2>/dev/null; then
		skip "the filesystem of $D does not support O_DIRECT"
	fi
}

# write SEED OPS [JOURNAL [IMG]]: a writer run into the 1024-block image.
write() {
	"$T/crashwriter" --dev "${4:-$D/img}" --journal "${3:-$D/j}" --blocks 1024 \
		--seed "$1" --ops "$2" >/dev/null
}

# block_of OP: the block the journal says op OP was written to.
block_of() {
	sed -n "s/^I $1 \([0-9]*\)\.$/\1/p" "$D/j"
}

# put_block FROM_IMG FROM_BLOCK TO_BLOCK: copy one 4 KiB block into $D/img.
put_block() {
	dd if="$1" of="$D/img" bs=4k skip="$2" seek="$3" count=1 conv=notrunc 2>/dev/null
}

@test "crashverify: a clean run passes and counts every acknowledged write" {
	write 1 500
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"never-written 0; acked writes verified 500, losses 0"* ]]
}

@test "crashverify: a zeroed block that held an acknowledged write is a loss" {
	write 2 300
	b=$(block_of 300)
	dd if=/dev/zero of="$D/img" bs=4k seek="$b" count=1 conv=notrunc 2>/dev/null
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"LOSS block $b: op 300 (run 1, acknowledged by sync) is missing; the block holds no written version"* ]]
	[[ "$output" != *"losses 0"* ]]
}

@test "crashverify: an older version of a block is a loss" {
	write 3 400
	cp "$D/img" "$D/old"
	write 4 400
	# the newest op of the second run on a block the first run wrote too
	for ((op = 800; op > 400; op--)); do
		b=$(block_of "$op")
		grep -qE "^I ([1-9][0-9]{0,2}|400) $b\.$" "$D/j" && break
	done
	[ "$op" -gt 400 ]
	put_block "$D/old" "$b" "$b"
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"LOSS block $b: op $op (run 2, "*"the block holds the older version "* ]]
}

@test "crashverify: torn, misplaced and foreign blocks are never-written" {
	write 5 400
	# torn: one byte changed in the middle of a written block
	b1=$(block_of 400)
	printf 'X' | dd of="$D/img" bs=1 seek=$((b1 * 4096 + 2000)) conv=notrunc 2>/dev/null
	# misplaced: a whole, valid block copied to another position
	b2=$(block_of 399)
	b3=$(( (b2 + 1) % 1024 ))
	[ "$b3" != "$b1" ] || b3=$(( (b2 + 2) % 1024 ))
	put_block "$D/img" "$b2" "$b3"
	# foreign: a valid block of another writer that this journal never issued
	truncate -s 4M "$D/other"
	write 99 50 "$D/j-other" "$D/other"
	b4=$(sed -n 's/^I 50 \([0-9]*\)\.$/\1/p' "$D/j-other")
	grep -q "^I 50 $b4\.$" "$D/j" && skip "seed collision: op 50 at the same block in both"
	put_block "$D/other" "$b4" "$b4"
	run "$T/crashverify" --dev "$D/img" --journal "$D/j" --details 50
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"NEVER-WRITTEN block $b1: checksum mismatch"* ]]
	[[ "$output" == *"NEVER-WRITTEN block $b3: block number mismatch"* ]]
	[[ "$output" == *"NEVER-WRITTEN block $b4: version 50 of run 1 was never issued to it"* ]]
	[[ "$output" == *"never-written 3;"* ]]
}

@test "crashverify: --acked-upto counts only acknowledgements made up to that op" {
	write 6 300
	b=$(block_of 300)
	first=$(sed -n "s/^I \([0-9]*\) $b\.$/\1/p" "$D/j" | head -n 1)
	dd if=/dev/zero of="$D/img" bs=4k seek="$b" count=1 conv=notrunc 2>/dev/null
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	[ "$status" -eq 1 ]
	# before the first write to that block was acknowledged, nothing is missing
	run "$T/crashverify" --dev "$D/img" --journal "$D/j" --acked-upto $((first - 1))
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"losses 0"* ]]
}

@test "crashverify: --record makes what recovery found durable; losing it later is a loss" {
	write 7 200
	# forget the acknowledgements: these writes were issued, never acknowledged
	grep -v '^[FD]' "$D/j" >"$D/j2" && mv "$D/j2" "$D/j"
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	[ "$status" -eq 0 ]
	[[ "$output" == *"acked writes verified 0, losses 0"* ]]
	run "$T/crashverify" --dev "$D/img" --journal "$D/j" --record
	echo "$output"
	[ "$status" -eq 0 ]
	n=$(grep -c '^P ' "$D/j")
	[ "$n" -gt 0 ]
	[[ "$output" == *"recorded $n unacknowledged versions as durable"* ]]
	b=$(block_of 200)
	dd if=/dev/zero of="$D/img" bs=4k seek="$b" count=1 conv=notrunc 2>/dev/null
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"LOSS block $b: op 200 (run 1, acknowledged by recovered)"* ]]
}

@test "crashwriter: a torn journal record is ignored and the next run starts a fresh line" {
	write 8 100
	printf 'D 7' >>"$D/j" # a record cut by a power cut: no terminator, no newline
	write 9 100
	grep -qx 'D 7' "$D/j"
	grep -qx 'R 2 101 9 1024.' "$D/j"
	run "$T/crashverify" --dev "$D/img" --journal "$D/j"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"acked writes verified 200, losses 0"* ]]
}

# mklog FILE: a dm-log-writes log with 512-byte sectors, by the documented format:
#   1 WRITE   sector 0, 1 sector of 'A'     5 MARK    "m1"
#   2 WRITE   sector 8, 2 sectors of 'B'    6 DISCARD sector 8, 1 sector
#   3 FLUSH                                 7 FLUSH
#   4 FUA     sector 1, 1 sector of 'C'     8 MARK    "dm-log-writes-end"
mklog() {
	python3 - "$1" <<-'EOF'
		import struct, sys
		S = 512
		def entry(sector, nr, flags, text=b""):
		    e = struct.pack("<QQQQ", sector, nr, flags, len(text)) + text
		    return e + b"\0" * (S - len(e))
		log = b""
		log += entry(0, 1, 0) + b"A" * S
		log += entry(8, 2, 0) + b"B" * 2 * S
		log += entry(0, 0, 1)
		log += entry(1, 1, 2) + b"C" * S
		log += entry(0, 0, 8, b"m1")
		log += entry(8, 1, 4)
		log += entry(0, 0, 1)
		log += entry(0, 0, 8, b"dm-log-writes-end")
		sup = struct.pack("<QQQI", 0x6a736677736872, 1, 8, S)
		open(sys.argv[1], "wb").write(sup + b"\0" * (S - len(sup)) + log)
	EOF
}

# sector_is IMG SECTOR CHAR: the 512-byte sector holds only CHAR ('\0' for zeros).
sector_is() {
	[ "$(dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | tr -d "$3" | wc -c)" -eq 0 ]
}

@test "replaylog: lists entries and crash points of a log" {
	command -v python3 >/dev/null || skip "python3 missing"
	mklog "$D/log"
	run "$T/replaylog" list "$D/log"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "2 8 2 WRITE" ]
	[ "${lines[3]}" = "4 1 1 FUA" ]
	[ "${lines[5]}" = "6 8 1 DISCARD" ]
	[ "${lines[7]}" = "8 0 0 MARK dm-log-writes-end" ]
	run "$T/replaylog" points "$D/log"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = $'3 flush\n4 fua\n5 mark m1\n7 flush\n8 mark dm-log-writes-end' ]
}

@test "replaylog: replays exactly up to a flush, a mark, an entry, from an entry" {
	command -v python3 >/dev/null || skip "python3 missing"
	mklog "$D/log"
	truncate -s 8k "$D/t"
	run "$T/replaylog" replay "$D/log" "$D/t" --to-flush 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"entries 1..3: 2 writes (1 KiB), 0 discards, 1 FLUSH/FUA"* ]]
	sector_is "$D/t" 0 A
	sector_is "$D/t" 1 '\0'
	sector_is "$D/t" 8 B
	sector_is "$D/t" 9 B
	run "$T/replaylog" replay "$D/log" "$D/t" --from 4 --to-mark m1
	[ "$status" -eq 0 ]
	sector_is "$D/t" 1 C
	run "$T/replaylog" replay "$D/log" "$D/t" --from 6 --to 6
	[ "$status" -eq 0 ]
	sector_is "$D/t" 8 '\0'
	sector_is "$D/t" 9 B
	sector_is "$D/t" 0 A
}

@test "replaylog: refuses a malformed log and a stop point past its end" {
	command -v python3 >/dev/null || skip "python3 missing"
	mklog "$D/log"
	truncate -s 8k "$D/t"
	run "$T/replaylog" replay "$D/log" "$D/t" --to-flush 4
	[ "$status" -eq 1 ]
	[[ "$output" == *"the log ended (entry 8) before the stop point"* ]]
	head -c 2300 "$D/log" >"$D/short"
	run "$T/replaylog" list "$D/short"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"entry 2: data beyond the end of the log"* ]]
	printf 'X' | dd of="$D/log" bs=1 seek=0 conv=notrunc 2>/dev/null
	run "$T/replaylog" points "$D/log"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a dm-log-writes log"* ]]
	run "$T/replaylog" replay "$D/log" "$D/t"
	[ "$status" -eq 2 ]
}
