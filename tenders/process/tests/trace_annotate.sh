#!/usr/bin/env bash
# Profile-guided annotation from the process hypervisor: the guest's
# exitbench reads device memory, which no site marks; the trace of that run
# names the instruction, and `previrt annotate` turns it into an mmio_read
# annotation for the next build. usage: trace_annotate.sh PREVIRT IMAGE
set -uo pipefail
previrt=$1 image=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$previrt" run --on process "$image" --cmdline "exitbench short" --serial "$dir/serial" --timeout 120 \
    --trace-exits "$dir/traps" </dev/null 2>"$dir/err"
status=$?
cat "$dir/err"
[ "$status" -eq 0 ] || fail "exitbench: status $status"
grep -q "^exitbench done" "$dir/serial" || fail "exitbench did not finish"
grep -Eq "^0x[0-9a-f]+ mmio 0x[0-9a-f]+ read 4$" "$dir/traps" || fail "no mmio trap in the trace"
# Pre-virtualized, the port accesses are calls, not traps: none in the trace.
grep -q " io " "$dir/traps" && fail "port accesses trapped although their sites were rewritten"
"$previrt" annotate "$image" "$dir/traps" -o "$dir/annotations" || fail "previrt annotate"
cat "$dir/annotations"
grep -q "mmio_read" "$dir/annotations" || fail "no mmio_read annotation"
# Pure, every port access traps and is traced.
"$previrt" run --on process "$image" --pure --cmdline "exitbench short" --serial "$dir/serial" --timeout 120 \
    --trace-exits "$dir/traps-pure" </dev/null 2>/dev/null
grep -q " io " "$dir/traps-pure" || fail "no io trap traced in pure mode"
echo "ok"
