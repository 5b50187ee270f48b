#!/usr/bin/env bash
# The guest kernel debugged as a process: gdb on `previrt run --on process`,
# with the guest's symbols (the kernel runs at its link address), stops at a
# breakpoint in the guest kernel's C++ and shows where it came from.
# usage: gdb_guest.sh PREVIRT IMAGE. Exits 77 (skipped) without gdb.
set -uo pipefail
previrt=$1 image=$2
command -v gdb >/dev/null || { echo "SKIP: no gdb"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The image is loaded when the run starts: the guest breakpoint is set once
# the VMM first resumes the guest. The VMM's own signals pass through.
cat > "$dir/commands" <<COMMANDS
set pagination off
handle SIGSEGV SIGILL SIGALRM SIGIO SIGSYS SIGUSR1 SIGCHLD nostop noprint pass
add-symbol-file $image
break previrt_resume_guest
run
delete 1
break syscall_dispatch
continue
bt 2
kill
COMMANDS
timeout 120 gdb -q -batch -x "$dir/commands" --args "$previrt" run --on process "$image" --serial "$dir/serial" \
    --timeout 60 </dev/null >"$dir/out" 2>&1
cat "$dir/out"
grep -q "^Breakpoint 2, guest::syscall_dispatch" "$dir/out" || { echo "FAIL: gdb did not stop in the guest kernel"; exit 1; }
grep -q "in syscall_entry () at .*syscall_entry.S" "$dir/out" || { echo "FAIL: no backtrace into the guest's syscall entry"; exit 1; }
echo "ok"
