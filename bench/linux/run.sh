#!/usr/bin/env bash
# The afterburner on whole kernels: Debian's Linux 6.1 for each CONFIG
# (tinyconfig, defconfig), built plain and through `previrt as` one after the
# other in fresh output trees (testing/linux/build.sh), and the hook's share of
# the build's time; then what `previrt inspect` finds in the hook's vmlinux and
# modules, and the growth of the images. Prints a Markdown report on standard
# output (progress on standard error).
#
#   bench/linux/run.sh [CONFIG...]        (default: tinyconfig defconfig)
#
# Env: PREVIRT_BUILD (previrt build directory, default <repo>/build), JOBS
# (make -j, default nproc), PREVIRT_BENCH_DIR (work directory, default a new
# one under the system's temporary directory, removed at the end; a given one
# is kept, and must not hold the builds yet).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PREVIRT_BUILD:-$repo/build}
previrt=$build/tools/previrt/previrt
[ -x "$previrt" ] || { echo "run.sh: no $previrt: build previrt first (scripts/setup.sh)" >&2; exit 1; }
configs=("$@")
((${#configs[@]})) || configs=(tinyconfig defconfig)
if [ -n "${PREVIRT_BENCH_DIR:-}" ]; then
    mkdir -p "$PREVIRT_BENCH_DIR"
    work=$(cd "$PREVIRT_BENCH_DIR" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/previrt-linux-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
src=$work/src/linux-source-6.1
[ -d "$src" ] || src=$("$repo/testing/linux/extract.sh" "$work/src")
# The hook is a copy: rebuilding previrt meanwhile does not change what is measured.
mkdir -p "$work/hook"
cp "$previrt" "$work/hook/previrt"
ln -sf previrt "$work/hook/as"

for config in "${configs[@]}"; do
    echo "run.sh: $config, plain" >&2
    "$repo/testing/linux/build.sh" "$src" "$config" "$work/$config-plain"
    echo "run.sh: $config, through the hook" >&2
    "$repo/testing/linux/build.sh" "$src" "$config" "$work/$config-hook" "$work/hook"
done

cpu() { awk '{ printf "%.1f", $2 + $3 }' "$1"; }
field() { awk -v k="$2" '{ printf "%.1f", $k }' "$1"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) / a * 100 }'; }
text_size() { size "$1" | awk 'NR == 2 { print $1 + $2 }'; }

echo "Debian's \`linux-source-6.1\` ($(cd "$src" && make -s kernelversion)), \`make ARCH=x86_64 CONFIG\` with"
echo "testing/linux/boot.config merged in (serial console, a built-in initramfs), then"
echo "\`make -j${JOBS:-$(nproc)} bzImage\` (and \`modules\` where the configuration has them), once with"
echo "\`CC=gcc\` and once with \`CC=\"gcc -B <hook dir>\"\`, one after the other in fresh output trees,"
echo "on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r),"
echo "$(gcc --version | head -1 | awk '{ print "GCC", $NF }'), $(as --version | head -1 | awk '{ print "binutils", $NF }')), $(date -u +%F); one run each (\`bench/linux/run.sh\`):"
echo
echo "| config | build | wall s | user s | sys s | hook's share (CPU) |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for config in "${configs[@]}"; do
    p=$work/$config-plain/time h=$work/$config-hook/time
    echo "| $config | CC=gcc | $(field "$p" 1) | $(field "$p" 2) | $(field "$p" 3) | |"
    echo "| $config | CC=\"gcc -B hook\" | $(field "$h" 1) | $(field "$h" 2) | $(field "$h" 3) | $(pct "$(cpu "$p")" "$(cpu "$h")") |"
done
echo
for config in "${configs[@]}"; do
    tree=$work/$config-hook/tree plain=$work/$config-plain/tree
    report=$("$previrt" inspect "$tree/vmlinux" 2>&1 || true)
    kinds=$(sed -n '/^  kind /,/^[a-z]/p' <<<"$report" | awk 'NF == 3 && $1 != "kind" { n[$1] += $3 } END { for (k in n) print n[k], k }' |
        sort -rn | head -10 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
    modules=0 module_sites=0 unclean=0
    while IFS= read -r -d '' ko; do
        out=$("$previrt" inspect "$ko" 2>&1) || unclean=$((unclean + 1))
        modules=$((modules + 1))
        module_sites=$((module_sites + $(grep -o '^[^:]*: [0-9]* sites' <<<"$out" | awk '{ print $(NF - 1) }')))
    done < <(find "$tree" -name '*.ko' -print0)
    new_warnings=$(comm -13 "$work/$config-plain/link-warnings" "$work/$config-hook/link-warnings" | wc -l)
    echo "- **$config**: \`previrt inspect vmlinux\`: $(head -1 <<<"$report" | sed 's/^[^:]*: //; s/ (an in-place VMM traps there)//; s/; [0-9]* instructions scanned outside them//'); by kind: $kinds, ...; \"$(tail -1 <<<"$report")\"."
    echo "  Modules: $modules, $module_sites sites, $unclean with findings. Link warnings: $(wc -l <"$work/$config-plain/link-warnings") in the plain build, $new_warnings more through the hook."
    echo "  \`vmlinux\` text and data (\`size\`, which counts the records too): $(text_size "$plain/vmlinux") bytes plain, $(text_size "$tree/vmlinux") through the hook ($(pct "$(text_size "$plain/vmlinux")" "$(text_size "$tree/vmlinux")")); \`bzImage\` $(stat -c %s "$plain/arch/x86/boot/bzImage") against $(stat -c %s "$tree/arch/x86/boot/bzImage") bytes."
done
