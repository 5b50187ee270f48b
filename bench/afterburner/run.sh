#!/usr/bin/env bash
# Afterburner benchmark: what the assembler hook costs a real kernel build.
#
#   1. assembler throughput: GNU as against `previrt as` on the assembly GCC
#      writes for a few directories of Linux 6.1 (kept with -save-temps)
#   2. the hook's share of the build: the extra assembler time against the
#      time of the same directories' plain build
#   3. code growth by site kind, and what `previrt inspect` finds
#
# Prints a Markdown report on standard output, progress on standard error.
# Needs a built previrt (scripts/setup.sh). Work files go to $PREVIRT_BENCH_DIR.
# Settings: PREVIRT_BUILD (default <repo>/build), BENCH_DIRS (kernel
# directories), BENCH_REPS (repetitions of the assembler runs, default 3).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PREVIRT_BUILD:-$repo/build}
work=${PREVIRT_BENCH_DIR:-/var/tmp/previrt-bench}
dirs=(${BENCH_DIRS:-arch/x86/entry/ kernel/sched/ arch/x86/kernel/ arch/x86/mm/})
reps=${BENCH_REPS:-3}
jobs=$(nproc)
previrt=$build/tools/previrt/previrt
log() { echo "[bench] $*" >&2; }

missing=()
for p in build-essential flex bison bc libelf-dev libssl-dev time linux-source-6.1; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
[ -x "$previrt" ] || { log "build previrt first (scripts/setup.sh)"; exit 1; }

mkdir -p "$work"
src=$work/linux
if [ ! -f "$src/Makefile" ]; then
    log "extracting the kernel source"
    mkdir -p "$src"
    tar -xf /usr/src/linux-source-6.1.tar.xz -C "$src" --strip-components=1
fi
tree=$work/o-bench
if [ ! -f "$tree/.config" ]; then
    log "configuring (x86_64 defconfig) and preparing"
    make -s -C "$src" O="$tree" ARCH=x86_64 defconfig >/dev/null
    make -s -C "$src" O="$tree" ARCH=x86_64 -j"$jobs" prepare >/dev/null 2>&1
fi

# The plain build, timed, keeping every assembler input (-save-temps=obj).
for d in "${dirs[@]}"; do find "$tree/$d" -name '*.o' -delete 2>/dev/null || true; done
log "plain build of ${dirs[*]}"
/usr/bin/time -f '%e %U %S' -o "$work/make.time" \
    make -s -C "$src" O="$tree" ARCH=x86_64 -j"$jobs" CC="gcc -save-temps=obj" "${dirs[@]}" >/dev/null 2>"$work/make.err"
read -r make_wall make_user make_sys <"$work/make.time"

# asm-offsets.s is only read by kbuild for its constants, never assembled.
mapfile -t corpus < <(for d in "${dirs[@]}"; do find "$tree/$d" -name '*.s' ! -name 'asm-offsets.s'; done | sort)
bytes=$(cat "${corpus[@]}" | wc -c)
log "corpus: ${#corpus[@]} files, $bytes bytes"

rm -rf "$work/plain" "$work/hook"
mkdir -p "$work/plain" "$work/hook"
assemble() {  # TOOL... : every corpus file, one process each, objects into $out
    local f
    for f in "${corpus[@]}"; do "$@" --64 -o "$out/$(basename "$f" .s).o" "$f" 2>/dev/null || echo "$f" >>"$work/fail"; done
}
: >"$work/as.times"
: >"$work/hook.times"
: >"$work/fail"
for ((r = 1; r <= reps; r++)); do
    for which in $( ((r % 2)) && echo "as hook" || echo "hook as"); do
        log "repetition $r: $which"
        if [ "$which" = as ]; then
            out=$work/plain
            /usr/bin/time -f '%e %U %S' -a -o "$work/as.times" bash -c "$(declare -f assemble); corpus=(${corpus[*]}); out=$out; work=$work; assemble as"
        else
            out=$work/hook
            /usr/bin/time -f '%e %U %S' -a -o "$work/hook.times" bash -c "$(declare -f assemble); corpus=(${corpus[*]}); out=$out; work=$work; assemble $previrt as"
        fi
    done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
as_wall=$(awk '{print $1}' "$work/as.times" | median); as_cpu=$(awk '{print $2 + $3}' "$work/as.times" | median)
hk_wall=$(awk '{print $1}' "$work/hook.times" | median); hk_cpu=$(awk '{print $2 + $3}' "$work/hook.times" | median)

exec_bytes() { size -A "$1" | awk '$1 ~ /^\.(text|init\.text|exit\.text|altinstr_replacement|noinstr\.text|entry\.text|sched\.text|cpuidle\.text|ref\.text|head\.text|meminit\.text)/ { s += $2 } END { print s + 0 }'; }
plain_exec=0 hook_exec=0 sites_bytes=0
for o in "$work"/plain/*.o; do
    h=$work/hook/$(basename "$o")
    [ -f "$h" ] || continue
    plain_exec=$((plain_exec + $(exec_bytes "$o")))
    hook_exec=$((hook_exec + $(exec_bytes "$h")))
    sites_bytes=$((sites_bytes + $(size -A "$h" | awk '$1 == "previrt_sites" { s += $2 } END { print s + 0 }')))
done
for h in "$work"/hook/*.o; do "$previrt" inspect --list "$h" 2>/dev/null || true; done >"$work/inspect.txt"

cat <<REPORT
## Afterburner: build-time overhead and code growth

Host: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r) (a VM); $(gcc --version | head -1); $(as --version | head -1).
Kernel: Linux 6.1 (Debian linux-source-6.1), x86_64 defconfig; directories ${dirs[*]}.
Reproduce: \`bench/afterburner/run.sh\` after \`scripts/setup.sh\`.

### Assembler throughput

Corpus: the ${#corpus[@]} assembly files GCC wrote for those directories
($((bytes / 1024)) KiB), each assembled by its own process, as a build does;
median of $reps runs each, alternating which goes first.

| assembler | wall s | user+sys s | MB/s |
| --- | ---: | ---: | ---: |
| GNU as | $as_wall | $as_cpu | $(awk -v b="$bytes" -v t="$as_wall" 'BEGIN { printf "%.1f", b / 1e6 / t }') |
| previrt as (hook, then GNU as, then the finisher) | $hk_wall | $hk_cpu | $(awk -v b="$bytes" -v t="$hk_wall" 'BEGIN { printf "%.1f", b / 1e6 / t }') |

previrt as / GNU as: $(awk -v a="$as_wall" -v h="$hk_wall" 'BEGIN { printf "%.2fx", h / a }') wall; the hook adds $(awk -v a="$as_wall" -v h="$hk_wall" -v n="${#corpus[@]}" 'BEGIN { printf "%.1f ms", (h - a) * 1000 / n }') per file.

### Share of the build

The plain build of the same directories (gcc and GNU as, -j$jobs) took
${make_wall} s wall, $(awk -v u="$make_user" -v s="$make_sys" 'BEGIN { printf "%.1f", u + s }') s CPU. The hook's extra assembler work,
$(awk -v a="$as_cpu" -v h="$hk_cpu" 'BEGIN { printf "%.2f", h - a }') s CPU, is $(awk -v a="$as_cpu" -v h="$hk_cpu" -v u="$make_user" -v s="$make_sys" 'BEGIN { printf "%.1f%%", (h - a) * 100 / (u + s) }') of the build's CPU time (goal: under 5%).

### Code growth by site kind

| kind | sites | padding bytes |
| --- | ---: | ---: |
$(awk '{ for (i = 2; i < NF; i++) if ($1 ~ /^[0-9]+$/ && $i ~ /^[0-9]+\/[0-9]*$/) { split($i, a, "/"); s = a[2] == "" ? $(i+1) : a[2]; n[$(i-1)]++; p[$(i-1)] += s - a[1] } } END { for (k in n) printf "| %s | %d | %d |\n", k, n[k], p[k] }' "$work/inspect.txt" | sort -t'|' -k4 -rn)

Executable sections: $plain_exec bytes plain, $hook_exec through the hook
($(awk -v p="$plain_exec" -v h="$hook_exec" 'BEGIN { printf "%+.2f%%", (h - p) * 100 / p }')); the site records (\`previrt_sites\`) add $sites_bytes bytes.
What inspect finds in the hook-built objects: $(grep -c '^problem' "$work/inspect.txt" || true) unrecorded or mismatched instructions
($(grep '^problem' "$work/inspect.txt" | sed "s/.*(\([a-z_0-9]*\))\$/\1/" | sort | uniq -c | awk '{printf "%s %s; ", $2, $1}')).
REPORT
