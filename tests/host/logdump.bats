#!/usr/bin/env bats
# Proves that `marsctl log dump` (on the host, no VM) decodes and verifies logfiles
# as docs/log-format.md says: the worked example of section 12 with its chain entry,
# a good file, a torn tail (with and without --torn), damage in the middle (fatal,
# offset reported, also with --torn when it lies before the 8 MiB torn window), a
# zero-filled file, a zero tail, time_backward warnings, expectations taken from the
# path, and usage errors; human output, --json and exit statuses (0 non-fatal,
# 1 fatal, 2 usage). The files come from tests/host/_mklog.py, an encoder written
# from the document independently of lib/mlog/mlog.c.

setup_file() {
	export TOP
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export MARSCTL=$TOP/build/marsctl MKLOG=$TOP/tests/host/_mklog.py
	export MARS_HOST=logdump
}

setup() {
	[ -x "$MARSCTL" ] || skip "build first (make userspace)"
	command -v python3 >/dev/null || skip "python3 missing"
	command -v jq >/dev/null || skip "jq missing"
	D=$BATS_TEST_TMPDIR/resource-r0
	mkdir -p "$D"
}

# _json FILTER: apply a jq filter to $output (which must be one JSON document).
_json() {
	jq -er "$1" <<<"$output"
}

# _entry N HOST END PREV_HEX: the chain entry of section 11.1, computed with hashlib.
_entry() {
	python3 - "$@" <<-'EOF'
		import hashlib, struct, sys
		n, host, end, prev = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
		data = b"MARS-VC1" + struct.pack("<Q", n) + host.ljust(64, b"\0") + struct.pack("<Q", end)
		print(hashlib.sha256(data + bytes.fromhex(prev)).hexdigest())
	EOF
}

@test "log dump: the worked example of section 12, before and after rotation" {
	"$MKLOG" "$D/log-000000001-alpha" --example >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"outcome: clean_open at 752"* ]]
	[[ "$output" == *"chain: 0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82"* ]]
	[[ "$output" == *"genesis 0f0ead8e0de511b047f2fc97eb680641000ec3cda3dd5e262b58b8859446b656"* ]]
	[[ "$output" =~ 192\ +1\ +DATA\ +SYNC\ +1048576\ +512\ +1732600000000001000 ]]
	[[ "$output" == *"log_seq 000000001, host alpha (from the file name)"* ]]
	[[ "$output" == *"res_name r0 (from the folder resource-r0)"* ]]

	"$MKLOG" "$D/log-000000001-alpha" --example --eof >/dev/null
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = clean_eof ]
	[ "$(_json .outcome.offset)" = 800 ]
	[ "$(_json '.outcome.eof_flags | join(",")')" = DRAINED ]
	[ "$(_json .header.hdr_crc)" = 0xdddc5f80 ]
	[ "$(_json .header.salt)" = 0x8badf00ddeadbeef ]
	[ "$(_json .header.res_uuid)" = 00112233-4455-6677-8899-aabbccddeeff ]
	[ "$(_json '.records | length')" = 2 ]
	[ "$(_json '.records[0].crc')" = 0x2a2b5716 ]
	[ "$(_json '.records[1].crc')" = 0xe1a0519a ]
	[ "$(_json '.records[1].type')" = EOF ]
	# the EOF record does not count: the entry is the same as before rotation
	[ "$(_json .content_end)" = 752 ]
	[ "$(_json .chain.entry)" = 0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82 ]
	[ "$(_json .chain.prev_from)" = genesis ]
	[ "$(_json .chain.genesis_uuid_from)" = header ]
}

@test "log dump: a good file, --prev, --no-records" {
	run "$MKLOG" "$D/log-000000005-beta" --data 4
	end=${lines[-1]#end }
	run "$MARSCTL" log dump --json --no-records "$D/log-000000005-beta" \
		--prev 0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = clean_open ]
	[ "$(_json .outcome.offset)" = "$end" ]
	[ "$(_json .outcome.records)" = 4 ]
	[ "$(_json 'has("records")')" = false ]
	[ "$(_json .expect.log_seq)" = 5 ]
	[ "$(_json .expect.host)" = beta ]
	[ "$(_json .chain.prev_from)" = --prev ]
	want=$(_entry 5 beta "$end" 0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82)
	[ "$(_json .chain.entry)" = "$want" ]

	run "$MARSCTL" log dump "$D/log-000000005-beta" --records --prev "${want^^}"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' DATA ' <<<"$output")" -eq 4 ]
	[[ "$output" == *"prev $want (--prev)"* ]]
	[[ "$output" == *"chain: $(_entry 5 beta "$end" "$want")"* ]]
}

@test "log dump: a torn tail is fatal without --torn and the end of the log with it" {
	run "$MKLOG" "$D/log-000000001-alpha" --data 3 --cut 100
	echo "$output"
	last=${lines[2]}
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"outcome: short_record at $last: the data ends inside the record"* ]]
	[[ "$output" == *"fatal: no consumer uses this file beyond offset $last"* ]]
	[[ "$output" == *"chain: none (the outcome is fatal)"* ]]

	run "$MARSCTL" log dump --json "$D/log-000000001-alpha" --torn
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = torn_tail ]
	[ "$(_json .outcome.offset)" = "$last" ]
	[ "$(_json .outcome.detail)" = "short_record: the data ends inside the record" ]
	[ "$(_json .outcome.valid_after)" = 0 ]
	[ "$(_json .outcome.fatal)" = false ]
	[ "$(_json '.records | length')" = 2 ]
	[ "$(_json .chain.end)" = "$last" ]

	# a damaged record with good ones behind it, in the tail: they are counted
	run "$MKLOG" "$D/log-000000001-alpha" --data 5 --flip-record 2 --eof
	bad=${lines[2]}
	run "$MARSCTL" log dump "$D/log-000000001-alpha" --torn
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"outcome: torn_tail at $bad: bad_crc: crc"* ]]
	[[ "$output" == *"3 records with a valid CRC after it (acknowledged writes may be lost)"* ]]

	# a growing file that ends inside a record is incomplete
	run "$MKLOG" "$D/log-000000001-alpha" --data 3 --cut 100
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha" --may-grow
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = incomplete ]
}

@test "log dump: damage in the middle is fatal at its offset, also with --torn" {
	# record 1 of 11 damaged, more than 8 MiB (MARS_LOG_TORN_MAX) before the end
	run "$MKLOG" "$D/log-000000001-alpha" --data 2 --big 9 --flip-record 1
	bad=${lines[1]}
	for torn in "" --torn; do
		run "$MARSCTL" --json log dump "$D/log-000000001-alpha" $torn
		echo "$output"
		[ "$status" -eq 1 ]
		[ "$(_json .outcome.outcome)" = bad_crc ]
		[ "$(_json .outcome.offset)" = "$bad" ]
		[ "$(_json .outcome.detail)" = crc ]
		[ "$(_json .outcome.fatal)" = true ]
		[ "$(_json '.records | length')" = 1 ]
		[ "$(_json .content_end)" = "$bad" ]
		[ "$(_json '.chain == null')" = true ]
	done
	run "$MARSCTL" log dump "$D/log-000000001-alpha" --no-records
	[ "$status" -eq 1 ]
	[[ "$output" == *"outcome: bad_crc at $bad: crc"* ]]

	# in a short file without --torn: the same, nothing after it is used
	run "$MKLOG" "$D/log-000000001-alpha" --data 6 --flip-record 2
	bad=${lines[2]}
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	[ "$status" -eq 1 ]
	[[ "$output" == *"outcome: bad_crc at $bad: crc"* ]]
	[ "$(grep -c ' DATA ' <<<"$output")" -eq 2 ]
}

@test "log dump: a zero-filled file is empty with --torn, a bad header without" {
	"$MKLOG" "$D/log-000000001-alpha" --zero-file 65536 >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"outcome: bad_header at 0: magic: all zero"* ]]
	[[ "$output" == *"chain: none (no valid header)"* ]]
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha" --torn
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = empty ]
	[ "$(_json .outcome.offset)" = 0 ]
	[ "$(_json '.header == null')" = true ]
	[ "$(_json '.content_end == null')" = true ]
	# shorter than a header
	"$MKLOG" "$D/log-000000001-alpha" --zero-file 100 >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad_header at 0: size: shorter than the file header"* ]]
	[[ "$output" == *"header: none"* ]]
}

@test "log dump: a zero tail, and zero bytes after EOF" {
	run "$MKLOG" "$D/log-000000001-alpha" --data 2 --zeros 4096
	end=${lines[-1]#end }
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = zero_tail ]
	[ "$(_json .outcome.offset)" = $((end - 4096)) ]
	[ "$(_json .outcome.zero_bytes)" = 4096 ]
	"$MKLOG" "$D/log-000000001-alpha" --data 2 --eof --zeros 100 >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	[ "$status" -eq 0 ]
	[[ "$output" == *"outcome: clean_eof at"* ]]
	[[ "$output" == *"100 zero bytes follow"* ]]
}

@test "log dump: time_backward is a warning, not an error" {
	run "$MKLOG" "$D/log-000000001-alpha" --data 4 --lamport-back 2
	off=${lines[2]}
	run "$MARSCTL" log dump "$D/log-000000001-alpha"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: time_backward at $off"* ]]
	[[ "$output" == *"outcome: clean_open"* ]]
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha"
	[ "$(_json '.warnings | length')" = 1 ]
	[ "$(_json '.warnings[0].offset')" = "$off" ]
	[ "$(_json .outcome.time_backward)" = 1 ]
}

@test "log dump: the header must match the file name, the folder and --uuid" {
	"$MKLOG" "$D/log-000000002-alpha" --seq 1 >/dev/null
	run "$MARSCTL" log dump "$D/log-000000002-alpha"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad_header at 0: log_seq: not the expected number"* ]]
	"$MKLOG" "$D/log-000000001-beta" --host alpha >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-beta"
	[ "$status" -eq 1 ]
	[[ "$output" == *"host: not the expected host"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/resource-r1"
	"$MKLOG" "$BATS_TEST_TMPDIR/resource-r1/log-000000001-alpha" --res r0 >/dev/null
	run "$MARSCTL" --json log dump "$BATS_TEST_TMPDIR/resource-r1/log-000000001-alpha"
	[ "$status" -eq 1 ]
	[ "$(_json .outcome.detail)" = "res_name: not the expected resource" ]
	[ "$(_json .header.res_name)" = r0 ]
	[ "$(_json .header.valid)" = false ]
	"$MKLOG" "$D/log-000000001-alpha" >/dev/null
	run "$MARSCTL" log dump "$D/log-000000001-alpha" --uuid 00112233-4455-6677-8899-aabbccddeeff
	[ "$status" -eq 0 ]
	run "$MARSCTL" log dump "$D/log-000000001-alpha" --uuid ffffffffffffffffffffffffffffffff
	[ "$status" -eq 1 ]
	[[ "$output" == *"res_uuid: not the expected UUID"* ]]
	# another name: nothing is expected from it
	cp "$D/log-000000001-alpha" "$BATS_TEST_TMPDIR/copy"
	run "$MARSCTL" log dump "$BATS_TEST_TMPDIR/copy"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing from the file name (not log-<seq>-<host>)"* ]]
}

@test "log dump: usage errors exit 2, a missing file 1" {
	run "$MARSCTL" log dump
	[ "$status" -eq 2 ]
	[[ "$output" == *"no FILE given"* ]]
	run "$MARSCTL" log dump a b
	[ "$status" -eq 2 ]
	run "$MARSCTL" log dump --bogus x
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--bogus'"* ]]
	run "$MARSCTL" log dump x --prev 1234
	[ "$status" -eq 2 ]
	[[ "$output" == *"--prev '1234' is not 64 hex digits"* ]]
	run "$MARSCTL" log dump x --uuid nope
	[ "$status" -eq 2 ]
	run "$MARSCTL" log dump x --valid-len -1
	[ "$status" -eq 2 ]
	run "$MARSCTL" log dump x --uuid
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs a value"* ]]
	run "$MARSCTL" log frobnicate
	[ "$status" -eq 2 ]
	run "$MARSCTL" log dump "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such file or directory"* ]]
	run "$MARSCTL" --json log dump "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	[ "$(_json .error)" != "" ]
	run "$MARSCTL" log dump "$BATS_TEST_TMPDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a regular file"* ]]
	run "$MARSCTL" --help
	[[ "$output" == *"marsctl log dump FILE"* ]]
	run "$MARSCTL" log help
	[ "$status" -eq 0 ]
	[[ "$output" == *"marsctl log dump FILE"* ]]
}

@test "log dump: --valid-len limits the scan" {
	run "$MKLOG" "$D/log-000000001-alpha" --data 3
	second=${lines[1]}
	run "$MARSCTL" --json log dump "$D/log-000000001-alpha" --valid-len "$second"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(_json .outcome.outcome)" = clean_open ]
	[ "$(_json .outcome.offset)" = "$second" ]
	[ "$(_json '.records | length')" = 1 ]
}
