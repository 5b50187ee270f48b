#!/usr/bin/env bash
# previrt-vmm on bad input: one clear line and a distinct exit status each.
# usage: errors.sh PREVIRT IMAGE PV_IMAGE PV_KVM_IMAGE (the para-virtualized
# builds for the Linux process and for KVM)
set -uo pipefail
previrt=$1 image=$2 pv_image=$3 pv_kvm_image=$4
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
expect 2 "--mem wants a whole number of MiB from 1 to 1024, not 'lots'" "$previrt" run --on kvm "$image" --mem lots
expect 2 "--mem wants a whole number of MiB from 1 to 1024, not '2048'" "$previrt" run --on kvm "$image" --mem 2048
expect 2 "--on wants a value" "$previrt" run "$image" --on
expect 2 "unknown option '--bogus'" "$previrt" run --on kvm "$image" --bogus
expect 2 "unexpected 'second.elf'" "$previrt" run --on kvm "$image" second.elf
expect 2 "qemu is the bare PC" "$previrt" run --on qemu "$image" --previrt
expect 2 "qemu is the bare PC" "$previrt" run --on qemu "$image" --pure
expect 2 "--pure or --previrt, not both" "$previrt" run --on kvm "$image" --pure --previrt
expect 126 "cannot write /nonexistent/dir/trace" "$previrt" run --on kvm "$image" --trace-exits /nonexistent/dir/trace
# A para-virtualized image runs on the hypervisor it was built for only: one
# check, one message, whichever platform refuses it.
for platform in kvm qemu; do
    expect 120 "$pv_image: para-virtualized for the Linux-process hypervisor's interface (version 1): it runs with --on process only" \
        "$previrt" run --on $platform "$pv_image"
done
for platform in process qemu; do
    expect 120 "$pv_kvm_image: para-virtualized for KVM's interface (version 1): it runs with --on kvm only" \
        "$previrt" run --on $platform "$pv_kvm_image"
done
# ... and for the version of the interface it knows.
newer=$(mktemp)
trap 'rm -f "$tmp" "$newer"' EXIT
cp "$pv_kvm_image" "$newer"
note=$(objdump -h "$newer" | awk '$2 == ".note.previrt" { print $6; exit }')
[ -n "$note" ] || fail "no .note.previrt section in $pv_kvm_image"
# Its second note (after the 28-byte entry note) is KVM's: version at +20.
[ "$(od -An -tu4 -j $((0x$note + 28 + 8)) -N4 "$newer" | tr -d ' ')" = 3 ] || fail "the second note is not KVM's"
printf '\x02' | dd of="$newer" bs=1 seek=$((0x$note + 28 + 20)) conv=notrunc status=none
expect 120 "para-virtualized for KVM's interface version 2; this previrt has version 1" \
    "$previrt" run --on kvm "$newer"
# Pre-virtualized, a site record pointing outside the image is refused before
# the guest runs, naming the record.
bad=$(mktemp)
trap 'rm -f "$tmp" "$newer" "$bad"' EXIT
cp "$image" "$bad"
offset=$(objdump -h "$image" | awk '$2 == ".note.previrt.sites" { print $6; exit }')
[ -n "$offset" ] || fail "no .note.previrt.sites section in $image"
# The first record's insn_offset, after the note's 44-byte header: 1 GiB.
printf '\x00\x00\x00\x40' | dd of="$bad" bs=1 seek=$((0x$offset + 44)) conv=notrunc status=none
expect 120 ".note.previrt.sites section [0-9]* at offset 0x2c: record points to" "$previrt" run --on kvm "$bad" --previrt
# A record whose code mode is undefined: refused alike by every loader and by
# `previrt inspect`, naming the site.
mode=$(mktemp)
trap 'rm -f "$tmp" "$newer" "$bad" "$mode"' EXIT
cp "$image" "$mode"
# The first record's flags byte, after the note's header: code mode 3.
printf '\x03' | dd of="$mode" bs=1 seek=$((0x$offset + 44 + 7)) conv=notrunc status=none
expect 120 "site 0 has code mode 3, which is undefined" "$previrt" run --on kvm "$mode" --previrt
expect 120 "site 0 has code mode 3, which is undefined" "$previrt" run --on process "$mode"
out=$("$previrt" inspect "$mode" 2>&1)
got=$?
echo "$out"
[ "$got" -ne 0 ] && grep -q "site 0 has code mode 3, which is undefined" <<<"$out" ||
    fail "inspect passed a record with an undefined code mode (status $got)"
# A chunk header or a record whose reserved field is not 0: refused alike.
reserved=$(mktemp)
trap 'rm -f "$tmp" "$newer" "$bad" "$mode" "$reserved"' EXIT
for field in "$((20 + 20)) chunk header's reserved field is 0x5a, not 0" "$((20 + 10)) chunk header has undefined flags 0x5a" \
             "$((44 + 11)) site 0 has its reserved byte 0x5a, not 0"; do
    cp "$image" "$reserved"
    printf '\x5a' | dd of="$reserved" bs=1 seek=$((0x$offset + ${field%% *})) conv=notrunc status=none
    expect 120 "${field#* }" "$previrt" run --on kvm "$reserved" --previrt
    expect 120 "${field#* }" "$previrt" run --on process "$reserved"
    out=$("$previrt" inspect "$reserved" 2>&1)
    got=$?
    [ "$got" -ne 0 ] && grep -q "${field#* }" <<<"$out" || fail "inspect passed a reserved field that is not 0 (status $got)"
done
# A guest that resets the machine: a register dump and a non-zero status, never
# a hang (KVM reports a shutdown; a software KVM may report an emulation failure).
out=$("$previrt" run --on kvm "$image" --cmdline triplefault --timeout 120 2>&1 </dev/null)
got=$?
echo "$out"
[ "$got" -eq 125 ] || [ "$got" -eq 126 ] || fail "a triple fault exited $got, not 125 or 126"
grep -q "^  rip [0-9a-f]\{16\}" <<<"$out" || fail "no register dump after the triple fault"
