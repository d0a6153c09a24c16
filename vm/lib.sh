# shellcheck shell=bash
# Shared helpers for the vm/ scripts. Sourced, never run.
#
# The guest kernel is Debian's own 6.1 image whose ABI matches the installed
# linux-headers-amd64 package, so the module we build against those headers loads
# in the guest. Nothing here hard-codes an ABI number.

# Repository root (the folder that holds vm/).
MARS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MARS_CACHE=${MARS_CACHE:-$MARS_TOP/.cache}

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 2
}

# The kernel ABI (e.g. 6.1.0-56-amd64) named by the installed linux-headers-amd64
# metapackage. MARS_KABI overrides it.
mars_kabi() {
	if [ -n "${MARS_KABI:-}" ]; then
		printf '%s\n' "$MARS_KABI"
		return
	fi
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
		die "linux-headers-amd64 is not installed (run: make deps)"
	dep=${dep%% *}
	dep=${dep#linux-headers-}
	[ -n "$dep" ] || die "cannot derive the kernel ABI from linux-headers-amd64"
	printf '%s\n' "$dep"
}

# Folder holding the extracted kernel image for ABI $1.
mars_kdir() {
	printf '%s/kernel/%s\n' "$MARS_CACHE" "$1"
}
