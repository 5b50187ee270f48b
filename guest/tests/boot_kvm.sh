#!/usr/bin/env bash
# The guest under previrt-vmm on /dev/kvm, with the short self-test.
# usage: boot_kvm.sh PREVIRT IMAGE
# On a VT-x/AMD-V host the whole self-test must pass. On a host whose /dev/kvm
# is a software hypervisor (every instruction emulated), a system call from
# guest user mode does not reach the guest kernel's syscall entry (see
# docs/kvm.md): there the test checks the boot through the 64-bit entry, the
# devices and the exit port, and names the difference. Exits 77 (skipped) with
# no usable /dev/kvm. RUN_FLAGS: more flags for `previrt run` (--no-kvm-irqchip,
# --previrt: pre-virtualized, the in-place VMM beside the guest). PARAVIRT=1:
# IMAGE is the build for KVM's para-virtual interface, which calls the in-place
# VMM itself. EXPECT_SHA256=FILE: fails unless IMAGE is the one recorded there.
# UNRECORDED_OUTS=1 (with --previrt): IMAGE has no records of its outs, which
# exit and must reach the in-place VMM's models all the same.
set -uo pipefail
previrt=$1 image=$2
read -ra flags <<< "${RUN_FLAGS:-}"
if [ -n "${EXPECT_SHA256:-}" ]; then
    sha=$(sha256sum "$image" | cut -d' ' -f1)
    [ "$(cat "$EXPECT_SHA256" 2>/dev/null)" = "$sha" ] ||
        { echo "FAIL: $image (SHA-256 $sha) is not the image recorded in $EXPECT_SHA256"; exit 1; }
    echo "-- the image that passed before: SHA-256 $sha"
fi
log=$(mktemp) err=$(mktemp)
trap 'rm -f "$log" "$err"' EXIT
"$previrt" run --on kvm "$image" --cmdline short --timeout 240 --serial "$log" --stats "${flags[@]}" </dev/null 2>"$err"
status=$?
sed -i 's/\r$//' "$log"
cat "$err" "$log"
echo "-- previrt run exited with status $status"
[ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
grep -q "^boot: 64-bit entry" "$log" || fail "the guest did not boot through its 64-bit entry"
grep -q "^pci: 00:00.0 8086:1237 class 06.00" "$log" || fail "the guest did not find the PCI host bridge"
grep -q "^time: TSC at" "$log" || fail "the guest did not calibrate its TSC against the PIT"
if [[ " ${flags[*]} " == *" --no-kvm-irqchip "* ]]; then
    grep -q "injected with KVM_INTERRUPT" "$err" || fail "previrt-vmm did not say it uses its own PIC and PIT"
    grep -Eq "^  io .*0x61: [0-9]+" "$err" || fail "the PIT's port B never reached previrt's model"
fi
in_place_checks() {
    grep -Eq "in-place VMM: .* [1-9][0-9]* port accesses answered in place" "$err" ||
        fail "no port access was answered in place"
    if [ "${UNRECORDED_OUTS:-0}" = 1 ]; then
        # Every out exits; the models in place must see them all the same.
        grep -Eq "^  io .*0x3f8: [1-9]" "$err" || fail "the guest's unrecorded outs to the UART did not exit"
        grep -Eq "in-place VMM: .* [1-9][0-9]* exited and reached its models through the channel" "$err" ||
            fail "the outs that exited did not reach the in-place VMM's models"
    else
        grep -Eq "^  io .*0x(3f[89a-f]|2[01]|a[01]|4[0-3]|61|cf[89a-f]):" "$err" && fail "a UART, PIC, PIT or PCI access exited"
    fi
}
if [[ " ${flags[*]} " == *" --previrt "* ]]; then
    grep -q "^previrt-vmm: in-place VMM loaded at 0x80000000: [1-9][0-9]* of" "$err" || fail "no in-place VMM"
    grep -Eq "in-place VMM: [1-9][0-9]* site calls, 0 para-virtual calls" "$err" || fail "no site called the VMM"
    in_place_checks
fi
if [ "${PARAVIRT:-0}" = 1 ]; then
    grep -q "^previrt-vmm: para-virtualized (KVM's interface, version 1)" "$err" || fail "not run para-virtualized"
    grep -Eq "in-place VMM: 0 site calls, [1-9][0-9]* para-virtual calls" "$err" || fail "no para-virtual call"
    in_place_checks
fi
grep -q "^previrt-vmm: exits: [0-9]* in all" "$err" || fail "no exit statistics"
if grep -q "without VT-x/AMD-V" "$err"; then
    { [ "$status" -lt 120 ] || [ "$status" -gt 126 ]; } || fail "the guest did not end through the exit port (status $status)"
    grep -q "^init (selftest) exited with status" "$log" || fail "the guest kernel did not see its first program end"
    echo "NOTE: software KVM host: user-mode system calls do not reach the guest kernel here; the full self-test needs VT-x/AMD-V"
else
    echo "NOTE: KVM on hardware virtualization: the whole self-test"
    grep -Eq "^[0-9]+ passed, 0 failed$" "$log" || fail "the self-test did not pass"
    [ "$status" -eq 0 ] || fail "exit status $status"
fi
