# shellcheck shell=bash
# Shared by the crash tests (tests/bats/40-crashstates.bats in the guest,
# tests/host/powercut-guest.sh): the one place that says how the resource under test
# is created, and therefore recovered.
#
# The resource runs with the transaction logger (issue 4): `dev create --log-dir`
# replays the logfiles found there before /dev/mars/NAME appears, so creating it
# after a crash IS the recovery. MARS_CRASH_PLAIN=1 creates a plain resource instead
# (no log; the data device's own guarantees): that self-tests the harness while the
# logger is not there. Without MARS_CRASH_PLAIN, a marsctl or kernel without the
# logger makes the tests fail, never skip.
#
# MARS_CRASH_IO picks the data backend (default bio: the data is a block device).

MARS_TOP=${MARS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export MARSCTL=${MARSCTL:-$MARS_TOP/build/marsctl}
export CRASH_TOOLS=$MARS_TOP/build/tools

# crash_mode: "logger" or "plain", for messages and figures.
crash_mode() {
	if [ "${MARS_CRASH_PLAIN:-0}" = 1 ]; then echo plain; else echo logger; fi
}

# crash_create NAME DATA LOGDIR: create (after a crash: recover) resource NAME on the
# data device DATA, with its logfiles below LOGDIR.
crash_create() {
	local name=$1 data=$2 logdir=$3
	if [ "$(crash_mode)" = plain ]; then
		"$MARSCTL" dev create "$name" --data "$data" --io bio
	else
		mkdir -p "$logdir" || return 1
		"$MARSCTL" dev create "$name" --data "$data" --io "${MARS_CRASH_IO:-bio}" \
			--log-dir "$logdir"
	fi
}

# crash_check_logger NAME: with the logger, NAME must report its log state. Prints
# the "log" object; fails, naming the cause, when it is missing.
crash_check_logger() {
	local log
	[ "$(crash_mode)" = plain ] && return 0
	log=$("$MARSCTL" --json dev list | jq -c --arg n "$1" \
		'.[] | select(.name == $n) | .log | objects | select(has("seq") and has("durable") and has("wb_seq"))')
	if [ -z "$log" ]; then
		echo "crash: resource $1 reports no transaction log (no \"log\" object with seq," \
			"durable, wb_seq in 'marsctl --json dev list'); MARS_CRASH_PLAIN=1 tests a" \
			"plain device instead" >&2
		return 1
	fi
	echo "crash: $1 log state $log"
}

# crash_wait_dev PATH: the device node appears asynchronously (devtmpfs). Builtins
# only while it is there: under TCG every command started costs.
crash_wait_dev() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	echo "crash: $1 did not appear within 10 s" >&2
	return 1
}
