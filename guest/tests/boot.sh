#!/usr/bin/env bash
# Boots the guest image on a platform through `previrt run` and checks what it says.
# usage: boot.sh PREVIRT PLATFORM IMAGE CMDLINE EXPECTED_STATUS PATTERN...
# Each PATTERN (an extended regular expression) must match a line of the serial output.
# Exits 77 (skipped) when the platform is not there (no usable /dev/kvm).
# Environment: RUN_FLAGS, more flags for `previrt run` (e.g. --pure);
# RECORD_SHA256=FILE writes the image's SHA-256 there once the checks pass;
# EXPECT_SHA256=FILE fails unless the image is the one recorded there (the
# same bytes that passed on another platform).
set -uo pipefail
previrt=$1 platform=$2 image=$3 cmdline=$4 expected=$5
shift 5
log=$(mktemp)
trap 'rm -f "$log"' EXIT
read -ra flags <<< "${RUN_FLAGS:-}"
sha=$(sha256sum "$image" | cut -d' ' -f1)
if [ -n "${EXPECT_SHA256:-}" ]; then
    [ "$(cat "$EXPECT_SHA256" 2>/dev/null)" = "$sha" ] ||
        { echo "FAIL: $image (SHA-256 $sha) is not the image recorded in $EXPECT_SHA256"; exit 1; }
    echo "-- the image that passed before: SHA-256 $sha"
fi
"$previrt" run --on "$platform" "$image" --cmdline "$cmdline" --timeout 240 --serial "$log" --stats "${flags[@]}" </dev/null
status=$?
[ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
sed -i 's/\r$//' "$log"  # the UART sends CR LF
cat "$log"
echo "-- previrt run exited with status $status"
[ "$status" -eq "$expected" ] || { echo "FAIL: expected exit status $expected"; exit 1; }
for pattern in "$@"; do
    grep -Eq -- "$pattern" "$log" || { echo "FAIL: no line matches '$pattern'"; exit 1; }
done
[ "$(sha256sum "$image" | cut -d' ' -f1)" = "$sha" ] || { echo "FAIL: the image changed during the run"; exit 1; }
[ -n "${RECORD_SHA256:-}" ] && echo "$sha" > "$RECORD_SHA256"
exit 0
