#!/usr/bin/env bash
# The main job: builds previrt, the sample guest code and the reference guest
# through the afterburner (gcc -B with the assembler hook), prints their site
# reports, boots the guest on QEMU, the bare PC, to show its self-test, then
# runs the same image on each platform with a one-line result for each.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build
"$repo/scripts/setup.sh" "$build"
previrt=$build/tools/previrt/previrt

echo
echo "== afterburnt sample code: every site, checked =="
"$previrt" inspect --list "$build/samples/afterburner/afterburner_sample"

echo
echo "== the reference guest: sites by kind and section =="
"$previrt" inspect "$build/guest/previrt-guest.elf"

echo
echo "== the reference guest on QEMU (the bare PC) =="
"$previrt" run --on qemu "$build/guest/previrt-guest.elf" --timeout 300 || echo "(the guest exited with status $?)"

echo
echo "== the same image under previrt-vmm on /dev/kvm (pure virtualization, short self-test) =="
"$previrt" run --on kvm "$build/guest/previrt-guest.elf" --cmdline short --timeout 300 --stats || echo "(the guest exited with status $?; docs/kvm.md says why on a host without VT-x/AMD-V)"
echo "== the same image on /dev/kvm pre-virtualized: the in-place VMM answers the PIC, PIT and UART inside the guest =="
"$previrt" run --on kvm "$build/guest/previrt-guest.elf" --previrt --cmdline short --timeout 300 --stats || echo "(the guest exited with status $?; docs/kvm.md says why on a host without VT-x/AMD-V)"
echo "== the para-virtualized build for KVM on /dev/kvm: it calls the same in-place VMM directly =="
"$previrt" run --on kvm "$build/guest/previrt-guest-pv-kvm.elf" --cmdline short --timeout 300 --stats || echo "(the guest exited with status $?; docs/kvm.md says why on a host without VT-x/AMD-V)"

# One line per run: the self-test's summary and the exit status.
summary() {
    local label=$1 log
    shift
    log=$(mktemp)
    local status=0 result
    "$previrt" run "$@" --timeout 300 --serial "$log" </dev/null 2>/dev/null || status=$?
    result=$(tr -d '\r' < "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1) || true
    printf '%-42s %-22s (status %s)\n' "$label" "${result:-no self-test summary}" "$status"
    rm -f "$log"
}

echo
echo "== one image, every platform: the self-test's summary =="
image=$build/guest/previrt-guest.elf
summary "QEMU, the bare PC" --on qemu "$image"
summary "Linux process, pure virtualization" --on process "$image" --pure
summary "Linux process, pre-virtualized" --on process "$image"
summary "Linux process, para-virtualized build" --on process "$build/guest/previrt-guest-pv.elf"
summary "KVM (previrt-vmm), short self-test" --on kvm "$image" --cmdline short
summary "KVM, pre-virtualized (in-place VMM)" --on kvm "$image" --cmdline short --previrt
summary "KVM, para-virtualized build" --on kvm "$build/guest/previrt-guest-pv-kvm.elf" --cmdline short
echo "(pure virtualization fails the interrupt-flag checks by design: pushf and popf do not trap; docs/in-place-vmm.md)"
echo "(KVM without VT-x/AMD-V, as on the project's machines, gives guest user mode no system calls: docs/kvm.md)"

echo
echo "== the same image on KVM on AMD-V (QEMU TCG emulating SVM, Debian's kernel with kvm_amd; testing/amdv/l1.sh) =="
amdv=$build/amdv-demo
mkdir -p "$amdv"
cat >"$amdv/commands" <<END
pure $previrt run --on kvm $image --timeout 300 --serial serial.txt
previrt $previrt run --on kvm $image --previrt --timeout 300 --serial serial.txt
paravirt $previrt run --on kvm $build/guest/previrt-guest-pv-kvm.elf --timeout 300 --serial serial.txt
END
if "$repo/testing/amdv/l1.sh" --work "$amdv/work" --out "$amdv/results" --put "$previrt" --put "$build/guest" \
    "$amdv/commands"; then
    for run in "pure:KVM on AMD-V, pure virtualization" "previrt:KVM on AMD-V, pre-virtualized" \
               "paravirt:KVM on AMD-V, para-virtualized build"; do
        name=${run%%:*}
        result=$(tr -d '\r' <"$amdv/results/$name/serial.txt" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1) || true
        printf '%-42s %-22s (status %s)\n' "${run#*:}" "${result:-no self-test summary}" "$(cat "$amdv/results/$name.status")"
    done
else
    echo "(KVM on AMD-V could not run here: l1.sh said why above)"
fi
