#!/usr/bin/env bash
# previrt-vmm on bad input: one clear line and a distinct exit status each.
# usage: errors.sh PREVIRT IMAGE
set -uo pipefail
previrt=$1 image=$2
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # STATUS PATTERN COMMAND...
    local want=$1 pattern=$2
    shift 2
    out=$("$@" 2>&1 </dev/null)
    got=$?
    echo "$out"
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, not $want"
    grep -q -- "$pattern" <<<"$out" || fail "'$*' did not say '$pattern'"
}
expect 121 "cannot open /nonexistent" env PREVIRT_KVM_DEVICE=/nonexistent "$previrt" run --on kvm "$image"
[ -e /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "this is a text file, not an ELF image" >"$tmp"
expect 120 "not an ELF file" "$previrt" run --on kvm "$tmp"
expect 120 "does not fit" "$previrt" run --on kvm "$image" --mem 1
expect 2 "wants a positive number" "$previrt" run --on kvm "$image" --mem lots
expect 2 "is for the kvm platform" "$previrt" run --on qemu "$image" --previrt
# Pre-virtualized, a site record pointing outside the image is refused before
# the guest runs, naming the record.
bad=$(mktemp)
trap 'rm -f "$tmp" "$bad"' EXIT
cp "$image" "$bad"
offset=$(objdump -h "$image" | awk '$2 == "previrt_sites" { print $6; exit }')
[ -n "$offset" ] || fail "no previrt_sites section in $image"
# The first record's insn_offset, after the 16-byte chunk header: 1 GiB.
printf '\x00\x00\x00\x40' | dd of="$bad" bs=1 seek=$((0x$offset + 16)) conv=notrunc status=none
expect 120 "previrt_sites section [0-9]* at offset 0x10: record points to" "$previrt" run --on kvm "$bad" --previrt
# A guest that resets the machine: a register dump and a non-zero status, never
# a hang (KVM reports a shutdown; a software KVM may report an emulation failure).
out=$("$previrt" run --on kvm "$image" --cmdline triplefault --timeout 120 2>&1 </dev/null)
got=$?
echo "$out"
[ "$got" -eq 125 ] || [ "$got" -eq 126 ] || fail "a triple fault exited $got, not 125 or 126"
grep -q "^  rip [0-9a-f]\{16\}" <<<"$out" || fail "no register dump after the triple fault"
