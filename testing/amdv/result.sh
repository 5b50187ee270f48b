#!/usr/bin/env bash
# One case of the AMD-V KVM run (testing/amdv/CMakeLists.txt): shows what the
# case printed in L1 and ends with its status; fails if the case never ran or
# did not run on KVM on hardware virtualization.
# usage: result.sh RESULTS NAME
set -uo pipefail
results=$1 name=$2
[ -f "$results/$name.status" ] || { echo "FAIL: $name never ran in L1 (no $results/$name.status; see amdv.l1)"; exit 1; }
cat "$results/$name.out"
status=$(cat "$results/$name.status")
echo "-- in L1 ($(cut -d' ' -f1 "$results/l1.ready" 2>/dev/null), KVM on AMD-V emulated by QEMU TCG): status $status"
grep -q "^previrt-vmm: KVM on hardware virtualization" "$results/$name.out" ||
    { echo "FAIL: previrt-vmm did not run on KVM on hardware virtualization"; exit 1; }
exit "$status"
