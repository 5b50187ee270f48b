#!/usr/bin/env bash
# `previrt run --on qemu` on what QEMU cannot run: one clear line and a
# distinct exit status each, never the status 0 a guest gives when it passes.
# usage: qemu_errors.sh PREVIRT IMAGE
set -uo pipefail
previrt=$1 image=$2
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # STATUS PATTERN COMMAND...
    local want=$1 pattern=$2
    shift 2
    out=$(timeout 60 "$@" 2>&1 </dev/null)
    got=$?
    echo "$out"
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, not $want"
    grep -q -- "$pattern" <<<"$out" || fail "'$*' did not say '$pattern'"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "this is a text file, not an ELF image" >"$tmp/text"
head -c 5000 "$image" >"$tmp/truncated.elf"
expect 120 "/nonexistent.elf: No such file" "$previrt" run --on qemu /nonexistent.elf
expect 120 "not an ELF file" "$previrt" run --on qemu "$tmp/text"
expect 120 "lies outside the" "$previrt" run --on qemu "$tmp/truncated.elf"
expect 120 "does not fit in 1 MiB" "$previrt" run --on qemu "$image" --mem 1
expect 126 "QEMU failed" "$previrt" run --on qemu "$image" --serial /nonexistent/dir/serial
# A QEMU that fails as QEMU does: an error line on its standard error, exit status 1
# (which is also what the guest's status 0 gives through isa-debug-exit).
printf '#!/bin/sh\necho "qemu-system-x86_64: cannot start: this one is broken" >&2\nexit 1\n' >"$tmp/qemu"
chmod +x "$tmp/qemu"
expect 126 "cannot start: this one is broken" env PREVIRT_QEMU="$tmp/qemu" "$previrt" run --on qemu "$image"
# One that exits 1 and says nothing: still QEMU's failure, since the machine never started.
printf '#!/bin/sh\nexit 1\n' >"$tmp/silent-qemu"
chmod +x "$tmp/silent-qemu"
expect 126 "QEMU failed before the machine started (exit status 1)" \
    env PREVIRT_QEMU="$tmp/silent-qemu" "$previrt" run --on qemu "$image"
# One that never starts the machine: named once --timeout passes.
printf '#!/bin/sh\nexec sleep 30\n' >"$tmp/stuck-qemu"
chmod +x "$tmp/stuck-qemu"
expect 126 "QEMU did not start the machine within --timeout 2s" \
    env PREVIRT_QEMU="$tmp/stuck-qemu" "$previrt" run --on qemu "$image" --timeout 2
expect 126 "cannot start /nonexistent/qemu" env PREVIRT_QEMU=/nonexistent/qemu "$previrt" run --on qemu "$image"
echo "ok: every failure named"
