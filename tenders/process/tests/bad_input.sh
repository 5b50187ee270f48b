#!/usr/bin/env bash
# What `previrt run --on process` does with images it should not run as
# given, and with a runaway guest. usage: bad_input.sh PREVIRT IMAGE PV_IMAGE
set -uo pipefail
previrt=$1 image=$2 pv_image=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# run NAME ARGS...: runs previrt with stdin closed; status in $status, stderr
# in $dir/NAME.err, the guest's console in $dir/NAME.log.
run() {
    local name=$1
    shift
    "$previrt" run --on process --serial "$dir/$name.log" --timeout 120 "$@" </dev/null 2>"$dir/$name.err"
    status=$?
    echo "-- $name: status $status"
    cat "$dir/$name.err"
}

# Not an ELF file, and no file at all: 120, naming the problem.
printf 'not an elf' > "$dir/garbage"
run garbage "$dir/garbage"
[ "$status" -eq 120 ] || fail "a file that is not ELF: status $status, not 120"
run missing "$dir/no-such-image"
[ "$status" -eq 120 ] || fail "a missing image: status $status, not 120"
grep -q "no-such-image" "$dir/missing.err" || fail "the error does not name the missing file"

# Files it cannot write: 126, naming them, and nothing left running.
"$previrt" run --on process "$image" --serial "$dir/no-dir/serial" --timeout 60 </dev/null 2>"$dir/serial.err"
status=$?
cat "$dir/serial.err"
[ "$status" -eq 126 ] || fail "--serial in a missing folder: status $status, not 126"
grep -q "cannot write $dir/no-dir/serial" "$dir/serial.err" || fail "the error does not name the serial file"
run trace "$image" --trace-exits "$dir/no-dir/trace"
[ "$status" -eq 126 ] || fail "--trace-exits in a missing folder: status $status, not 126"
grep -q "cannot write $dir/no-dir/trace" "$dir/trace.err" || fail "the error does not name the trace file"

# Without site records: a warning, and the guest runs pure (so the self-test
# shows pure virtualization's failures instead of passing).
objcopy --remove-section .note.previrt.sites "$image" "$dir/no-sites.elf" || fail "objcopy"
run no-sites "$dir/no-sites.elf"
grep -q "has no site records.*it runs pure" "$dir/no-sites.err" || fail "no warning about the missing site records"
grep -q "^FAIL kernel_irqsave_lock" "$dir/no-sites.log" || fail "the image without records did not run pure"

# A record pointing outside the image: refused before the guest runs, naming it.
cp "$image" "$dir/bad-record.elf"
offset=$(objdump -h "$image" | awk '$2 == ".note.previrt.sites" { print $6; exit }')
[ -n "$offset" ] || fail "no .note.previrt.sites section in $image"
# The first record's insn_offset, after the note's 44-byte header: 1 GiB.
printf '\x00\x00\x00\x40' | dd of="$dir/bad-record.elf" bs=1 seek=$((0x$offset + 44)) conv=notrunc status=none
run bad-record "$dir/bad-record.elf"
[ "$status" -eq 120 ] || fail "a record outside the image: status $status, not 120"
# The site table names the record by its place: the section and its offset.
grep -q ".note.previrt.sites section [0-9]* at offset 0x2c: record points to 0x[0-9a-f]*, which no section holds" \
    "$dir/bad-record.err" || fail "the error does not name the first record"
[ -s "$dir/bad-record.log" ] && fail "the guest ran although a record was bad"

# A para-virtualized image for an interface version this hypervisor lacks.
cp "$pv_image" "$dir/pv-v9.elf"
offset=$(objdump -h "$pv_image" | awk '$2 == ".note.previrt" { print $6; exit }')
note=$(od -An -tx1 -v -j $((0x$offset)) -N 64 "$pv_image" | tr -d ' \n')
# The second note starts 28 bytes in (a 12-byte header, the 8-byte name, the 8-byte entry): its type
# at 36, its descriptor (the version) at 48.
[ "${note:72:8}" = "02000000" ] || fail "the pv image's second note is not of type 2 (${note:72:40})"
printf '\x09\x00\x00\x00' | dd of="$dir/pv-v9.elf" bs=1 seek=$((0x$offset + 48)) conv=notrunc status=none
run pv-v9 "$dir/pv-v9.elf"
[ "$status" -eq 120 ] || fail "an unknown para-virtual version: status $status, not 120"
grep -q "interface version 9" "$dir/pv-v9.err" || fail "the error does not name the version"

# A guest that runs past --timeout: 124 and a register dump.
"$previrt" run --on process "$image" --cmdline init=bench --serial "$dir/timeout.log" --timeout 1 </dev/null \
    2>"$dir/timeout.err"
status=$?
cat "$dir/timeout.err"
[ "$status" -eq 124 ] || fail "a guest past --timeout: status $status, not 124"
grep -q "rip " "$dir/timeout.err" || fail "no register dump after the timeout"
# --timeout takes any count of seconds its 32 bits hold, and names its range
# beyond.
"$previrt" run --on process "$image" --cmdline "exitbench iterations=1" --serial "$dir/long.log" \
    --timeout 2147483648 </dev/null 2>"$dir/long.err"
status=$?
[ "$status" -eq 0 ] || { cat "$dir/long.err"; fail "--timeout 2147483648: status $status, not 0"; }
"$previrt" run --on process "$image" --timeout 4294967296 </dev/null 2>"$dir/range.err"
status=$?
cat "$dir/range.err"
[ "$status" -eq 2 ] || fail "--timeout 4294967296: status $status, not 2"
grep -q "from 1 to 4294967295, not '4294967296'" "$dir/range.err" || fail "the error does not give the range"
echo "ok"
