# shellcheck shell=bash
# Kernel splat detection: a marker is written to /dev/kmsg, and later the kernel log
# after that marker is searched for the signs of a kernel problem (as blktests does).

# What counts as a splat. "failed to validate module" is the kernel refusing a
# module's BTF (built on another kernel's base, scripts/kmod-btf): the module loads
# (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y on Debian) but must not pass a test.
MARS_SPLAT_RE='WARNING:|BUG:|Oops|general protection|blocked for more than|soft lockup|hard LOCKUP|rcu.*(detected stall|self-detected)|RCU stall|Kernel panic|UBSAN:|KASAN:|kernel BUG|failed to validate module'

# splat_mark TEXT: write a unique marker to the kernel log and print it.
splat_mark() {
	local mark
	mark="mars-test-mark-$$-${RANDOM}${RANDOM}"
	echo "$mark $1" >/dev/kmsg
	printf '%s\n' "$mark"
}

# splat_check MARK: fail (and print the offending lines) if the kernel log after MARK
# shows a splat.
splat_check() {
	local found
	found=$(dmesg | sed -n "/$1/,\$p" | grep -E "$MARS_SPLAT_RE")
	[ -z "$found" ] && return 0
	printf 'kernel splat:\n%s\n' "$found"
	return 1
}

# splat_end MARK: close the span opened by splat_mark (so suite-level checks can tell
# splats inside a test, already blamed on it, from splats between tests).
splat_end() {
	echo "${1/-mark-/-end-}" >/dev/kmsg
}

# splat_check_between MARK: like splat_check, but ignores the spans of tests
# (between a "test" mark and its end mark), which were checked by the tests.
splat_check_between() {
	local found
	found=$(dmesg | sed -n "/$1/,\$p" | awk -v re="$MARS_SPLAT_RE" '
		/mars-test-mark-[0-9-]+ test / { inside = 1; next }
		/mars-test-end-[0-9-]+/ { inside = 0; next }
		!inside && $0 ~ re { print }')
	[ -z "$found" ] && return 0
	printf 'kernel splat:\n%s\n' "$found"
	return 1
}
