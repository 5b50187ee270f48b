#!/usr/bin/env bash
# Boots the guest image on a platform through `previrt run` and checks what it says.
# usage: boot.sh PREVIRT PLATFORM IMAGE CMDLINE EXPECTED_STATUS PATTERN...
# Each PATTERN (an extended regular expression) must match a line of the serial output.
# Exits 77 (skipped) when the platform is not there (no usable /dev/kvm).
set -uo pipefail
previrt=$1 platform=$2 image=$3 cmdline=$4 expected=$5
shift 5
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$previrt" run --on "$platform" "$image" --cmdline "$cmdline" --timeout 240 --serial "$log" --stats </dev/null
status=$?
[ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
sed -i 's/\r$//' "$log"  # the UART sends CR LF
cat "$log"
echo "-- previrt run exited with status $status"
[ "$status" -eq "$expected" ] || { echo "FAIL: expected exit status $expected"; exit 1; }
for pattern in "$@"; do
    grep -Eq -- "$pattern" "$log" || { echo "FAIL: no line matches '$pattern'"; exit 1; }
done
