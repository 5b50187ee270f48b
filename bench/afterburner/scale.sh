#!/usr/bin/env bash
# The assembler hook's cost per site at scale: GNU as and `previrt as` side by
# side on inputs made of nothing but sites, 3 runs each, alternating which goes
# first. Prints a Markdown report on standard output.
#
#   bench/afterburner/scale.sh [LINES]     (default 2100000: 10 MB of `cli`)
#
# Env: PREVIRT_BUILD (previrt build directory, default <repo>/build), BENCH_REPS
# (runs of each, default 3).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PREVIRT_BUILD:-$repo/build}
previrt=$build/tools/previrt/previrt
[ -x "$previrt" ] || { echo "scale.sh: no $previrt: build previrt first (scripts/setup.sh)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "scale.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
lines=${1:-2100000}
reps=${BENCH_REPS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/previrt-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT

# cli: the one instruction, every line. mixed: eight kinds in turn, one line
# each, with an ordinary instruction after every eighth.
awk -v n="$lines" 'BEGIN { for (i = 0; i < n; ++i) print "\tcli" }' >"$work/cli.s"
awk -v n="$lines" 'BEGIN {
    split("cli|sti|pushfq|popfq|in $0x60, %al|outb %al, $0x80|mov %cr3, %rax|rdmsr", k, "|")
    for (i = 0; i < n; ++i) { print "\t" k[i % 8 + 1]; if (i % 8 == 7) print "\tmov %rdi, %rax" }
}' >"$work/mixed.s"

# One run: "wall user sys maxrss_kb".
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    cat "$work/t"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "Inputs of $lines lines of sites (\`bench/afterburner/scale.sh\`), on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"
echo "Linux $(uname -r), $(as --version | head -1 | awk '{ print "binutils", $NF }')), $(date -u +%F); $reps runs each, alternating, medians:"
echo
echo "| input | MB | assembler | wall s | user+sys s | max RSS MB | object MB | time ratio | memory ratio |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for input in cli mixed; do
    src=$work/$input.s
    : >"$work/plain.runs"
    : >"$work/hook.runs"
    for ((r = 0; r < reps; ++r)); do
        if ((r % 2 == 0)); then
            measure as -o "$work/plain.o" "$src" >>"$work/plain.runs"
            measure "$previrt" as -o "$work/hook.o" "$src" >>"$work/hook.runs"
        else
            measure "$previrt" as -o "$work/hook.o" "$src" >>"$work/hook.runs"
            measure as -o "$work/plain.o" "$src" >>"$work/plain.runs"
        fi
    done
    "$previrt" inspect "$work/hook.o" >"$work/inspect" || { cat "$work/inspect" >&2; exit 1; }
    mb=$(awk -v b="$(stat -c %s "$src")" 'BEGIN { printf "%.1f", b / 1048576 }')
    for which in plain hook; do
        runs=$work/$which.runs
        wall=$(awk '{ print $1 }' "$runs" | median)
        cpu=$(awk '{ print $2 + $3 }' "$runs" | median)
        rss=$(awk '{ print $4 }' "$runs" | median)
        obj=$(awk -v b="$(stat -c %s "$work/$which.o")" 'BEGIN { printf "%.1f", b / 1048576 }')
        eval "${which}_wall=$wall ${which}_rss=$rss"
        name="GNU as"
        ratio="" mem=""
        if [ "$which" = hook ]; then
            name="previrt as"
            ratio=$(awk -v a="$plain_wall" -v b="$wall" 'BEGIN { printf "%.1fx", b / a }')
            mem=$(awk -v a="$plain_rss" -v b="$rss" 'BEGIN { printf "%.1fx", b / a }')
        fi
        echo "| $input | $mb | $name | $wall | $cpu | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') | $obj | $ratio | $mem |"
    done
    echo "$input: $(head -1 "$work/inspect")" >"$work/$input.summary"
done
echo
for input in cli mixed; do echo "- $input, \`previrt inspect\`: $(sed "s/^[^:]*: [^:]*: //" "$work/$input.summary")"; done
