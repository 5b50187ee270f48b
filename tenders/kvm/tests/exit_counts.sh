#!/usr/bin/env bash
# Exits per operation under previrt-vmm, which any KVM host reproduces: the
# guest's exitbench (short: 200 of each) reads and writes the UART's scratch
# register and reads unbacked device memory; each access must be exactly one
# exit of its kind, and the guest must report a cost for each. Each row is a
# window between POST codes, which previrt-vmm counts on its own (--stats).
# usage: exit_counts.sh PREVIRT IMAGE PV_KVM_IMAGE
set -uo pipefail
previrt=$1 image=$2 pv_kvm_image=$3
serial=$(mktemp)
trap 'rm -f "$serial"' EXIT
# exitbench IMAGE [FLAGS]: sets out (previrt-vmm's messages, then the guest's
# console, which goes to a file: nothing reads standard input) and status.
exitbench() {
    out=$("$previrt" run --on kvm "$@" --cmdline "exitbench short" --timeout 240 --stats --serial "$serial" 2>&1)
    status=$?
    out+=$'\n'$(tr -d '\r' <"$serial")
    echo "$out"
}
exitbench "$image"
[ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$status" -eq 0 ] || fail "exit status $status"
grep -Eq "^  io .*0x3ff: 400[,)]" <<<"$out" || fail "200 port reads and 200 writes were not 400 port exits"
grep -Eq "^  mmio +200 +\(0x3fe00000: 200\)" <<<"$out" || fail "200 device-memory reads were not 200 MMIO exits"
for op in port_read port_write mmio_read loop_baseline; do
    grep -Eq "^exitbench $op [0-9]+ 200" <<<"$out" || fail "no $op figure"
done
# window ROW EXITS: previrt-vmm counted EXITS exits in exitbench row ROW.
window() { grep -q "^previrt-vmm: window $1: $2 exits" <<<"$out" || fail "${mode:-pure}: row $1 was not $2 exits"; }
window 1 200
window 2 200
window 5 200

# Instructions, counted by single-stepping only the rows: deterministic with
# interrupts off (the loop's 200 iterations of a few instructions each).
# previrt's PIC and PIT: with KVM's in-kernel irqchip a single-stepped
# `sti; hlt` may lose its wakeup (docs/kvm.md).
"$previrt" run --on kvm "$image" --no-kvm-irqchip --cmdline "exitbench short" --timeout 240 --stats --count-instructions=windows \
    --serial "$serial" >/dev/null 2>"$serial.err"
out=$(cat "$serial.err")
rm -f "$serial.err"
echo "$out"
loop=$(grep -Eo "^previrt-vmm: window 7: 0 exits, [0-9]+ guest instructions" <<<"$out" | grep -Eo "[0-9]+ guest" | cut -d' ' -f1)
[ -n "$loop" ] && [ "$loop" -ge 600 ] && [ "$loop" -le 3000 ] ||
    fail "the 200-iteration loop was ${loop:-no} instructions, not 3 to 15 per iteration"

# Pre-virtualized (--previrt), and para-virtualized (the build for KVM's
# interface): the same accesses are answered by the UART model inside the
# guest, with no exit at all; device memory still exits.
in_place_checks() {  # MODE
    local mode=$1
    [ "$status" -eq 0 ] || fail "$mode: exit status $status"
    grep -Eq "^  io .*0x3f[89a-f]:" <<<"$out" && fail "$mode: a UART access exited"
    grep -Eq "^  io .*0x(2[01]|a[01]|4[0-3]|61):" <<<"$out" && fail "$mode: a PIC or PIT access exited"
    in_place=$(grep -Eo "[0-9]+ port accesses answered in place" <<<"$out" | cut -d' ' -f1)
    [ "${in_place:-0}" -ge 400 ] || fail "$mode: ${in_place:-no} port accesses answered in place, not 400 or more"
    grep -Eq "^  mmio +200 +\(0x3fe00000: 200\)" <<<"$out" || fail "$mode: 200 device-memory reads were not 200 MMIO exits"
    for op in port_read port_write mmio_read hlt_wakeup loop_baseline; do
        grep -Eq "^exitbench $op [0-9]+ 200" <<<"$out" || fail "$mode: no $op figure"
    done
    # The UART's rows and the console lines without an exit; the PIT's reads
    # with at most the one that says an interrupt waits (interrupts are off).
    window 1 0
    window 2 0
    window 4 0
    grep -Eq "^previrt-vmm: window 3: [01] exits" <<<"$out" || fail "$mode: the PIT's reads exited"
    window 5 200
}
exitbench "$image" --previrt
mode=pre-virtualized
in_place_checks $mode
exitbench "$pv_kvm_image"
mode=para-virtualized
in_place_checks $mode
grep -Eq "in-place VMM: 0 site calls, [0-9]{3,} para-virtual calls" <<<"$out" || fail "para-virtualized: no para-virtual calls"
