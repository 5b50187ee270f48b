#!/usr/bin/env bash
# The guest image passes `previrt inspect` and has sites of every class the
# kernel exercises. usage: inspect_guest.sh PREVIRT IMAGE
set -uo pipefail
previrt=$1 image=$2
report=$("$previrt" inspect "$image")
status=$?
echo "$report"
[ "$status" -eq 0 ] || { echo "FAIL: inspect exited with $status"; exit 1; }
for kind in cli sti pushf popf hlt lgdt lidt ltr mov_to_cr mov_from_cr invlpg rdmsr wrmsr rdtsc cpuid \
            swapgs sysret iret in out far_jmp far_ret mov_to_sreg page_table_write; do
    grep -Eq "^  $kind +" <<<"$report" || { echo "FAIL: no $kind site"; exit 1; }
done
