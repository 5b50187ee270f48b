#!/usr/bin/env bash
# The main job: builds previrt, the sample guest code and the reference guest
# through the afterburner (gcc -B with the assembler hook), prints their site
# reports, and boots the guest on QEMU, the bare PC, to show its self-test.
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
