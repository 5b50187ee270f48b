#!/usr/bin/env bash
# Copies a guest image with every record of one site kind in 64-bit code
# erased, as if the afterburner had never seen those instructions: each record
# becomes a code-mode record for 64-bit code at the same address (harmless in
# 64-bit code), so the loaders leave the instruction as it is and it exits.
# usage: erase_records.sh IMAGE OUT KIND   (KIND: abi/previrt/site_record.h's number)
# Prints how many records it erased; fails if none.
set -euo pipefail
image=$1 out=$2 kind=$3
# (No process substitution: the L1 of testing/amdv has no /dev/fd.)
read -r size offset <<<"$(objdump -h "$image" | awk '$2 == ".note.previrt.sites" { print $3, $6; exit }')"
[ -n "${offset:-}" ] || { echo "erase_records.sh: no .note.previrt.sites section in $image" >&2; exit 1; }
size=$((0x$size)) offset=$((0x$offset))
cp "$image" "$out"
read -ra bytes <<<"$(od -An -v -tu1 -j "$offset" -N "$size" "$image" | tr '\n' ' ')"
u32() { echo $(( bytes[$1] | bytes[$1 + 1] << 8 | bytes[$1 + 2] << 16 | bytes[$1 + 3] << 24 )); }
pos=0 erased=0
# A note each chunk: namesz, descsz, type, "previrt\0", the chunk header (magic
# at +20, record size at +28, record count at +32), the records from +44.
while [ $((pos + 44)) -le "$size" ]; do
    [ "$(u32 $((pos + 20)))" -eq $((0x53565250)) ] || { echo "erase_records.sh: bad chunk at $pos" >&2; exit 1; }
    record_size=$(( bytes[pos + 28] | bytes[pos + 29] << 8 ))
    count=$(u32 $((pos + 32)))
    for ((k = 0; k < count; ++k)); do
        rec=$((pos + 44 + record_size * k))
        if [ "${bytes[rec + 6]}" -eq "$kind" ] && [ $((bytes[rec + 7] & 3)) -eq 0 ]; then
            printf '\xff\x00' | dd of="$out" bs=1 seek=$((offset + rec + 6)) conv=notrunc status=none
            erased=$((erased + 1))
        fi
    done
    pos=$((pos + 12 + 8 + $(u32 $((pos + 4)))))
done
[ "$erased" -gt 0 ] || { echo "erase_records.sh: no record of kind $kind in 64-bit code in $image" >&2; exit 1; }
echo "erased $erased records of kind $kind"
