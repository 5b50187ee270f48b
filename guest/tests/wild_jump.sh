#!/usr/bin/env bash
# A guest kernel that jumps where nothing is mapped (0xdeadf000, from the
# start of kernel_main, before it has an IDT) gets the page fault, which it
# cannot take: the platform reports the guest's triple fault (125), never a
# fault of its own.
# usage: wild_jump.sh PREVIRT PLATFORM IMAGE [RUN FLAGS...]
# Exits 77 (skipped) when the platform is not there (no usable /dev/kvm).
set -uo pipefail
previrt=$1 platform=$2 image=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
address=$(nm "$image" | awk '$3 == "kernel_main" { print $1; exit }')
[ -n "$address" ] || { echo "FAIL: no kernel_main in $image"; exit 1; }
read -r vma offset <<<"$(objdump -h "$image" | awk '$2 == ".text" { print $4, $6; exit }')"
seek=$((0x$address - 0x$vma + 0x$offset))
cp "$image" "$work/wild.elf"
# mov $0xdeadf000, %eax; jmp *%rax
printf '\xb8\x00\xf0\xad\xde\xff\xe0' | dd of="$work/wild.elf" bs=1 seek="$seek" conv=notrunc status=none
"$previrt" run --on "$platform" "$work/wild.elf" --timeout 60 --serial "$work/serial" "$@" </dev/null >"$work/out" 2>&1
status=$?
cat "$work/out"
[ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
echo "-- previrt run exited with status $status"
[ "$status" -eq 125 ] || { echo "FAIL: expected the guest's triple fault, status 125"; exit 1; }
grep -q "triple fault" "$work/out" || { echo "FAIL: no word of a triple fault"; exit 1; }
if grep -q "itself faulted" "$work/out"; then echo "FAIL: the platform blamed itself"; exit 1; fi
echo "PASS"
