#!/usr/bin/env bash
# Exits per operation on KVM, pure and pre-virtualized, side by side from one
# run: the reference guest's exitbench (200 of each operation) under
# previrt-vmm with KVM's in-kernel PIC/PIT, with previrt's own (every access to
# them an exit), and with --previrt (the in-place VMM answers them inside the
# guest). Exits are what any KVM host reproduces; the cycles per operation
# are this host's, named in the report. Prints Markdown on standard output.
# It measures and reports; it is not a test.
# usage: exits.sh PREVIRT IMAGE
set -uo pipefail
previrt=$1 image=$2
declare -A out
modes=("pure" "pure, own PIC/PIT" "pre-virtualized")
flags=("" "--no-kvm-irqchip" "--previrt")
for i in 0 1 2; do
    echo "running: ${modes[$i]}" >&2
    out[$i]=$("$previrt" run --on kvm "$image" --cmdline "exitbench short" --timeout 600 --stats ${flags[$i]} 2>&1 </dev/null) ||
        { echo "exits.sh: the ${modes[$i]} run failed" >&2; echo "${out[$i]}" >&2; exit 1; }
done
host=$(grep -m1 -Eo "KVM (on hardware virtualization|without VT-x/AMD-V)[^:]*" <<<"${out[0]}")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
# port P's exits in run i
port() { grep -Eo "(\(|, )$2: [0-9]+" <<<"${out[$1]}" | head -1 | grep -Eo "[0-9]+$" || echo 0; }
kind() { awk -v k="$2" '$1 == k { print $2; exit }' <<<"${out[$1]}" | grep . || echo 0; }
total() { grep -Eo "exits: [0-9]+ in all" <<<"${out[$1]}" | grep -Eo "[0-9]+" || echo 0; }
cycles() { awk -v r="$2" '$1 == "exitbench" && $2 == r { print $3 }' <<<"${out[$1]}"; }
echo "Host: $host ($cpu). Cycles are this host's TSC cycles per operation."
echo
echo "| exits in the whole run (boot + exitbench short) | ${modes[0]} | ${modes[1]} | ${modes[2]} |"
echo "| --- | ---: | ---: | ---: |"
for p in 0x3ff 0x3f9 0x3f8 0x3fd 0x3fa 0x20 0x21 0x40 0x43 0x61; do
    echo "| port $p | $(port 0 $p) | $(port 1 $p) | $(port 2 $p) |"
done
echo "| doorbell 0x5f0 | $(port 0 0x5f0) | $(port 1 0x5f0) | $(port 2 0x5f0) |"
for k in mmio hlt irq_window; do echo "| $k | $(kind 0 $k) | $(kind 1 $k) | $(kind 2 $k) |"; done
echo "| **all exits** | **$(total 0)** | **$(total 1)** | **$(total 2)** |"
echo
echo "| exitbench row (200 each): cycles/op | ${modes[0]} | ${modes[1]} | ${modes[2]} |"
echo "| --- | ---: | ---: | ---: |"
for r in port_read port_write mmio_read hlt_wakeup loop_baseline; do
    echo "| $r | $(cycles 0 $r) | $(cycles 1 $r) | $(cycles 2 $r) |"
done
echo
echo "In-place VMM counters (pre-virtualized): $(grep -Eo "in-place VMM: .*" <<<"${out[2]}" | head -1)"
