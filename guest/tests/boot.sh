#!/usr/bin/env bash
# Boots the guest image on QEMU through `previrt run` and checks what it says.
# usage: boot_qemu.sh PREVIRT IMAGE CMDLINE EXPECTED_STATUS PATTERN...
# Each PATTERN (an extended regular expression) must match a line of the serial output.
set -uo pipefail
previrt=$1 image=$2 cmdline=$3 expected=$4
shift 4
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$previrt" run --on qemu "$image" --cmdline "$cmdline" --timeout 240 --serial "$log" </dev/null
status=$?
sed -i 's/\r$//' "$log"  # the UART sends CR LF
cat "$log"
echo "-- previrt run exited with status $status"
[ "$status" -eq "$expected" ] || { echo "FAIL: expected exit status $expected"; exit 1; }
for pattern in "$@"; do
    grep -Eq -- "$pattern" "$log" || { echo "FAIL: no line matches '$pattern'"; exit 1; }
done
