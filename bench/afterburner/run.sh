#!/usr/bin/env bash
# Afterburner benchmark: what the assembler hook costs a real kernel build.
#
#   1. assembler throughput: GNU as against `previrt as` on a corpus of assembly
#      that GCC handed to the assembler while building parts of Linux 6.1
#   2. the hook's share of a real `make` of a few kernel directories
#   3. code growth by site kind, hook-built objects against plain ones, and what
#      `previrt inspect` finds in the hook-built objects
#
# Prints a Markdown report on standard output (progress goes to standard error).
# Needs a built previrt (scripts/setup.sh); installs the kernel source and its
# build dependencies with apt-get if they are missing. Work files go outside the
# repository, to $PREVIRT_BENCH_DIR; a second run reuses the extracted source and
# the corpus, and redoes every measurement.
#
# Settings (environment):
#   PREVIRT_BENCH_DIR   work directory            (default /var/tmp/previrt-bench)
#   PREVIRT_BUILD       previrt build directory   (default <repo>/build)
#   BENCH_REPS          assembler-corpus repetitions            (default 3)
#   BENCH_MAKE_REPS     repetitions of each kernel make         (default 3)
#   BENCH_JOBS          make -j                                  (default nproc)
#   BENCH_CORPUS_MB     stop adding corpus directories past this (default 8)
#   BENCH_CORPUS_DIRS   kernel directories the corpus is built from, in order
#   BENCH_MAKE_DIRS     kernel directories the timed make builds
#   BENCH_INSPECT       objects whose site counts are shown one by one
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PREVIRT_BUILD:-$repo/build}
work=${PREVIRT_BENCH_DIR:-/var/tmp/previrt-bench}
reps=${BENCH_REPS:-3}
make_reps=${BENCH_MAKE_REPS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
corpus_mb=${BENCH_CORPUS_MB:-8}
corpus_dirs=(${BENCH_CORPUS_DIRS:-kernel/sched/ arch/x86/entry/ arch/x86/kernel/ arch/x86/mm/ mm/ kernel/ fs/})
make_dirs=(${BENCH_MAKE_DIRS:-kernel/sched/ arch/x86/entry/ arch/x86/kernel/ arch/x86/mm/ mm/})
inspect_objs=(${BENCH_INSPECT:-arch/x86/entry/entry_64.o arch/x86/kernel/process_64.o kernel/sched/core.o})
kernel_pkg=linux-source-6.1

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites

[ "$(uname -m)" = x86_64 ] || die "the afterburner hooks x86-64 builds; this host is $(uname -m)"

packages=(build-essential binutils flex bison bc libelf-dev libssl-dev xz-utils time cpio "$kernel_pkg")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

previrt=$build/tools/previrt/previrt
hook=$build/afterburner-hook
if [ ! -x "$previrt" ] || [ ! -e "$hook/as" ]; then
    log "no previrt in $build; building it with scripts/setup.sh"
    "$repo/scripts/setup.sh" "$build" >&2
fi
previrt=$(cd "$(dirname "$previrt")" && pwd)/previrt
hook=$(cd "$hook" && pwd)
unset PREVIRT_AS PREVIRT_ANNOTATIONS
real_as=$(command -v as)
case "$(readlink -f "$real_as")" in
    "$(readlink -f "$previrt")") die "the first 'as' on PATH is previrt; put GNU as first" ;;
esac
tarball=$(ls /usr/src/$kernel_pkg.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "$kernel_pkg is installed but /usr/src holds no $kernel_pkg tarball"

mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/linux
tmp=$work/tmp
rm -rf "$tmp"
mkdir -p "$tmp"

# ------------------------------------------------------------------ helpers

# time_cmd OUT cmd...: runs cmd, writes "wall user sys" (seconds) to OUT; returns cmd's status.
time_cmd() {
    local out=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$out" "$@"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# kernel_tree DIR [CC]: a fresh output tree with an x86_64 defconfig, prepared
# with the compiler the build will use (kbuild redoes its tools when CC changes,
# which must not be counted against the hook).
kernel_tree() {
    local cc=${2:-gcc}
    rm -rf "$1"
    mkdir -p "$1"
    make -C "$src" O="$1" ARCH=x86_64 CC="$cc" defconfig >"$1.log" 2>&1 || die "make defconfig failed, see $1.log"
    make -C "$src" O="$1" ARCH=x86_64 CC="$cc" -j"$jobs" prepare >>"$1.log" 2>&1 || die "make prepare failed, see $1.log"
}

# exec_bytes OBJ...: "object bytes" with the summed size of each object's executable sections.
exec_bytes() {
    local f
    for f in "$@"; do
        readelf -SW "$f" 2>/dev/null | sed -n 's/^ *\[ *[0-9]*\] //p' | awk -v f="$f" '
            function hex(s,   i, n, c) { n = 0; s = tolower(s)
                for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
                return n }
            NF == 10 && $7 ~ /X/ { total += hex($5) }
            $1 == ".note.previrt.sites" { sites += hex($5) }
            END { printf "%s %d %d\n", f, total, sites }'
    done
}

# ------------------------------------------------------------ kernel source

if [ ! -f "$src/.previrt-extracted" ]; then
    log "extracting $tarball"
    rm -rf "$src" "$work/extract"
    mkdir -p "$work/extract"
    tar -xf "$tarball" -C "$work/extract"
    mv "$work/extract"/* "$src"
    rmdir "$work/extract"
    touch "$src/.previrt-extracted"
fi
kversion=$(make -s -C "$src" kernelversion 2>/dev/null)

# ------------------------------------------------------------------- corpus
#
# The corpus is exactly what GCC hands the assembler in a kernel build: a
# capturing `as` (put first with gcc -B) copies each input, then runs GNU as. Inputs come from C files (gcc -S output) and from .S files (the
# preprocessed text gcc writes for them).

corpus=$work/corpus
corpus_key="$kversion ${corpus_dirs[*]} $corpus_mb"
if [ "$(cat "$corpus/.complete" 2>/dev/null)" != "$corpus_key" ]; then
    rm -rf "$corpus" "$work/o-corpus" "$work/capture"
    mkdir -p "$corpus/s" "$work/capture"
    cat >"$work/capture/as" <<EOF
#!/usr/bin/env bash
# Records an assembler input and its arguments, then runs GNU as.
args=("\$@"); out=""; input=""
for ((i = 0; i < \$#; i++)); do
    case "\${args[i]}" in
        -o) out=\${args[i+1]}; ((++i)) ;;
        -*) ;;
        *) input=\${args[i]} ;;
    esac
done
# kernel objects only (relative paths), not the probes Kbuild assembles to
# /dev/null, /tmp or .tmp_*/
if [[ "\$out" == *.o && "\$out" != /* && "\$out" != .tmp_* && "\$out" != */.tmp_* ]] && [ -f "\$input" ]; then
    name=\${out%.o}.s
    mkdir -p "$corpus/s/\$(dirname "\$name")"
    cp "\$input" "$corpus/s/\$name"
    rest=()
    for ((i = 0; i < \$#; i++)); do
        case "\${args[i]}" in -o) ((++i)) ;; "\$input") ;; *) rest+=("\${args[i]}") ;; esac
    done
    printf '%s\t%s\n' "\$name" "\${rest[*]}" >>"$corpus/list.raw"
fi
exec "$real_as" "\$@"
EOF
    chmod +x "$work/capture/as"
    log "building the corpus tree ($kversion, defconfig)"
    kernel_tree "$work/o-corpus"
    for d in "${corpus_dirs[@]}"; do
        have=$(find "$corpus/s" -type f -printf "%s\n" | awk "{ n += \$1 } END { print n + 0 }")
        ((have < corpus_mb * 1000000)) || break
        log "corpus: $((have / 1000000)) MB; building $d"
        echo "$d" >>"$corpus/dirs"
        make -C "$src" O="$work/o-corpus" ARCH=x86_64 -j"$jobs" CC="gcc -B $work/capture" "$d" \
            >>"$work/o-corpus.log" 2>&1 || die "plain kernel build of $d failed, see $work/o-corpus.log"
    done
    # one line per input (a file rebuilt twice keeps its last arguments)
    awk -F'\t' '$1 !~ /^\// && $1 !~ /(^|\/)\.tmp_/ { a[$1] = $2 } END { for (k in a) printf "%s\t%s\n", k, a[k] }' "$corpus/list.raw" | sort >"$corpus/list"
    echo "$corpus_key" >"$corpus/.complete"
fi
corpus_files=$(wc -l <"$corpus/list")
corpus_bytes=$(cd "$corpus/s" && cut -f1 ../list | xargs cat | wc -c)
corpus_lines=$(cd "$corpus/s" && cut -f1 ../list | xargs cat | wc -l)
from_S=$(cd "$corpus/s" && cut -f1 ../list | xargs grep -l -m1 '^# 1 ".*\.S"' | wc -l)
from_c=$((corpus_files - from_S))
biggest_S=$(cd "$corpus/s" && cut -f1 ../list | xargs grep -l -m1 '^# 1 ".*\.S"' | xargs ls -S | head -n4 |
    sed 's/\.s$//' | awk '{ printf "%s`%s`", (NR > 1 ? ", " : ""), $0 }')

# ------------------------------------------------- 1. assembler throughput

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# assemble_corpus ASSEMBLER... : assembles every corpus file, as the build did; failures go to $tmp/fail.
assemble_corpus() {
    local name args
    while IFS=$'\t' read -r name args; do
        # shellcheck disable=SC2086  # the captured arguments are split as the build split them
        "$@" $args -o "$tmp/corpus.o" "$corpus/s/$name" 2>>"$tmp/fail.log" || echo "$name" >>"$tmp/fail"
    done <"$corpus/list"
}
export -f assemble_corpus
export corpus tmp

: >"$tmp/as.times"
: >"$tmp/hook.times"
for ((r = 1; r <= reps; r++)); do
    # alternate the order, so that neither always runs with a warm cache
    for which in $( ((r % 2)) && echo "as hook" || echo "hook as"); do
        log "corpus repetition $r/$reps: $which"
        rm -f "$tmp/fail"
        if [ "$which" = as ]; then
            time_cmd "$tmp/t" bash -c 'assemble_corpus "$0"' "$real_as"
            cat "$tmp/t" >>"$tmp/as.times"
            [ ! -s "$tmp/fail" ] || die "GNU as failed on the corpus: $(head -n3 "$tmp/fail")"
        else
            time_cmd "$tmp/t" bash -c 'assemble_corpus "$0" as' "$previrt"
            cat "$tmp/t" >>"$tmp/hook.times"
            [ ! -s "$tmp/fail" ] || cp "$tmp/fail" "$tmp/hook.fail"
        fi
    done
done

# the fixed cost of one invocation: a two-line file, assembled 200 times
printf '\t.text\n\tret\n' >"$tmp/tiny.s"
tiny() { local i; for ((i = 0; i < 200; i++)); do "$@" --64 -o "$tmp/tiny.o" "$tmp/tiny.s" || return 1; done; }
export -f tiny
time_cmd "$tmp/tiny.as" bash -c 'tiny "$0"' "$real_as"
time_cmd "$tmp/tiny.hook" bash -c 'tiny "$0" as' "$previrt"

# ------------------------------------------------------ 2. kernel make

plain_tree=$work/o-plain
hook_tree=$work/o-hook
: >"$tmp/make-plain.times"
: >"$tmp/make-hook.times"
make_failed=""
for ((r = 1; r <= make_reps; r++)); do
    for which in $( ((r % 2)) && echo "plain hook" || echo "hook plain"); do
        tree=$work/o-$which
        log "make repetition $r/$make_reps: $which (${make_dirs[*]})"
        cc=gcc
        [ "$which" = plain ] || cc="gcc -B $hook"
        kernel_tree "$tree" "$cc"
        if time_cmd "$tmp/t" make -C "$src" O="$tree" ARCH=x86_64 -j"$jobs" CC="$cc" "${make_dirs[@]}" \
            >"$tree.build.log" 2>&1; then
            cat "$tmp/t" >>"$tmp/make-$which.times"
        else
            [ "$which" = plain ] && die "the plain kernel build failed, see $tree.build.log"
            make_failed=$tree.build.log
            log "the build through the hook FAILED, see $make_failed"
        fi
    done
done

# ------------------------------------------------ 3. inspect and code growth

# the objects both builds made (each one assembled once: no module links)
(cd "$plain_tree" && find "${make_dirs[@]}" -name '*.o' ! -name '*.mod.o' | sort) >"$tmp/objs.plain"
(cd "$hook_tree" && find "${make_dirs[@]}" -name '*.o' ! -name '*.mod.o' | sort) >"$tmp/objs.hook"
comm -12 "$tmp/objs.plain" "$tmp/objs.hook" >"$tmp/objs"
n_objs=$(wc -l <"$tmp/objs")
n_missing=$(comm -23 "$tmp/objs.plain" "$tmp/objs.hook" | wc -l)

log "inspecting $n_objs hook-built objects"
: >"$tmp/sites"      # kind insn_length site_length
: >"$tmp/findings"   # object<TAB>finding
: >"$tmp/inspect-rc"
while read -r o; do
    rc=0
    "$previrt" inspect --list "$hook_tree/$o" >"$tmp/inspect.out" 2>&1 || rc=$?
    echo "$rc $o" >>"$tmp/inspect-rc"
    sed -nE 's/^ *[0-9]+ .* ([a-z][a-z0-9_]*) +([0-9]+)\/ *([0-9]+)  .*$/\1 \2 \3/p' "$tmp/inspect.out" >>"$tmp/sites"
    grep -E '^(problem|error)' "$tmp/inspect.out" | sed "s|^|$o	|" >>"$tmp/findings" || true
done <"$tmp/objs"

(cd "$plain_tree" && exec_bytes $(cat "$tmp/objs")) >"$tmp/size.plain"
(cd "$hook_tree" && exec_bytes $(cat "$tmp/objs")) >"$tmp/size.hook"

# ------------------------------------------------------------------ report

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
virt=""
grep -qw hypervisor /proc/cpuinfo && virt=" (in a VM)"
gccv=$(gcc -dumpfullversion)
asv=$("$real_as" --version | head -n1 | sed 's/.* //')
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" status --porcelain -- . ':!bench' ':!docs' 2>/dev/null)" ] || commit="$commit + local changes"

stats() { # FILE -> "median_wall median_cpu min_wall max_wall"
    local w c
    w=$(awk '{ print $1 }' "$1" | median)
    c=$(awk '{ print $2 + $3 }' "$1" | median)
    echo "$w $c $(awk '{ print $1 }' "$1" | sort -g | head -n1) $(awk '{ print $1 }' "$1" | sort -g | tail -n1)"
}
all_runs() { awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }' "$1"; }
all_runs_cpu() { awk '{ printf "%s%.1f (%.1f)", (NR > 1 ? ", " : ""), $1, $2 + $3 }' "$1"; }

read -r as_w as_c as_min as_max <<<"$(stats "$tmp/as.times")"
read -r hk_w hk_c hk_min hk_max <<<"$(stats "$tmp/hook.times")"

cat <<EOF
## Afterburner: build-time overhead and code growth

- Host: x86-64 ($cpu), $(nproc) cores, Linux $(uname -r)$virt, GCC $gccv, binutils $asv
- previrt: commit $commit
- Kernel: Linux $kversion (Debian \`$kernel_pkg\`), \`make defconfig\` for x86_64
- Reproduce: \`bench/afterburner/run.sh\` (after \`scripts/setup.sh\`)

### 1. Assembler throughput: GNU as against \`previrt as\`

The corpus is every input GCC handed the assembler while building
\`$(tr '\n' ' ' <"$corpus/dirs" | sed 's/ $//')\` (directories taken in that order
until the corpus passed $corpus_mb MB): $corpus_files files, $(awk -v b="$corpus_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $corpus_lines lines;
$from_c compiled from C, $from_S preprocessed from \`.S\` (the largest: $biggest_S).
Each tool assembles the whole corpus in one run, one process per file, with the
arguments the build used; $reps repetitions each, alternating which goes first.

| assembler | wall s (median) | runs, wall s | user+sys s (median) | MB/s (wall) |
| --- | ---: | --- | ---: | ---: |
EOF
awk -v b="$corpus_bytes" -v w="$as_w" -v c="$as_c" -v runs="$(all_runs "$tmp/as.times")" \
    'BEGIN { printf "| GNU as | %.2f | %s | %.2f | %.1f |\n", w, runs, c, b / 1e6 / w }'
awk -v b="$corpus_bytes" -v w="$hk_w" -v c="$hk_c" -v runs="$(all_runs "$tmp/hook.times")" \
    'BEGIN { printf "| previrt as | %.2f | %s | %.2f | %.1f |\n", w, runs, c, b / 1e6 / w }'
awk -v aw="$as_w" -v hw="$hk_w" -v ac="$as_c" -v hc="$hk_c" -v n="$corpus_files" 'BEGIN {
    printf "\nRatio previrt as / GNU as: %.2fx wall, %.2fx CPU; the hook adds %.1f ms of wall time per file.\n",
        hw / aw, hc / ac, (hw - aw) * 1000 / n }'
read -r ta_w _ <"$tmp/tiny.as"
read -r th_w _ <"$tmp/tiny.hook"
awk -v a="$ta_w" -v h="$th_w" 'BEGIN {
    printf "One invocation on a two-line file (200 in a row): GNU as %.1f ms, previrt as %.1f ms.\n", a * 5, h * 5 }'
if [ -s "$tmp/hook.fail" ]; then
    echo
    echo "**previrt as FAILED on $(wc -l <"$tmp/hook.fail") corpus file(s)** (timings include the failures):"
    echo
    echo '```'
    head -n 20 "$tmp/fail.log"
    echo '```'
fi

cat <<EOF

### 2. Share of a kernel build

\`make -j$jobs ${make_dirs[*]}\` in a fresh, prepared output tree (\`defconfig\` and
\`make prepare\` are not timed), with \`CC=gcc\` and with \`CC="gcc -B <hook dir>"\`;
$make_reps repetitions each, alternating which goes first.

EOF
if [ -s "$tmp/make-plain.times" ] && [ -s "$tmp/make-hook.times" ]; then
    read -r mp_w mp_c mp_min _ <<<"$(stats "$tmp/make-plain.times")"
    read -r mh_w mh_c mh_min _ <<<"$(stats "$tmp/make-hook.times")"
    echo "| build | wall s (median) | wall s (best) | user+sys s (median) | runs: wall s (user+sys s) |"
    echo "| --- | ---: | ---: | ---: | --- |"
    awk -v w="$mp_w" -v b="$mp_min" -v c="$mp_c" -v runs="$(all_runs_cpu "$tmp/make-plain.times")" \
        'BEGIN { printf "| CC=gcc | %.1f | %.1f | %.1f | %s |\n", w, b, c, runs }'
    awk -v w="$mh_w" -v b="$mh_min" -v c="$mh_c" -v runs="$(all_runs_cpu "$tmp/make-hook.times")" \
        'BEGIN { printf "| CC=\"gcc -B hook\" | %.1f | %.1f | %.1f | %s |\n", w, b, c, runs }'
    awk -v pw="$mp_w" -v hw="$mh_w" -v pb="$mp_min" -v hb="$mh_min" -v pc="$mp_c" -v hc="$mh_c" 'BEGIN {
        printf "\nThe hook adds %.1f%% to the median wall time (%.1f%% best against best) and %.1f%% to the CPU time\n",
            (hw - pw) * 100 / pw, (hb - pb) * 100 / pb, (hc - pc) * 100 / pc
        printf "of the build; the project'"'"'s goal is under 5%%.\n" }'
    # the same estimate from section 1: the hook's extra CPU per assembler run, times the objects this build assembled
    awk -v ac="$as_c" -v hc="$hk_c" -v n="$corpus_files" -v objs="$(wc -l <"$tmp/objs")" -v pc="$mp_c" 'BEGIN {
        per = (hc - ac) / n
        printf "\nFrom section 1 instead: the hook'"'"'s extra CPU per file (%.1f ms) times the %d objects this build\n", per * 1000, objs
        printf "assembles is %.1f s, %.1f%% of the plain build'"'"'s median CPU time; unlike the make figures above, this\n", per * objs, per * objs * 100 / pc
        printf "estimate does not move with the host'"'"'s noise.\n" }'
    echo
    echo "Load average when the measurements began: $load_start (other work on the host inflates wall times more than CPU times)."
fi
[ -z "$make_failed" ] || printf '\n**The build through the hook FAILED** (log: %s):\n\n```\n%s\n```\n' \
    "$(basename "$make_failed")" "$(grep -iE 'error|previrt' "$make_failed" | head -n 20)"

cat <<EOF

### 3. What \`previrt inspect\` finds in the hook-built objects

EOF
echo "| object | sites by kind | findings |"
echo "| --- | --- | --- |"
for o in "${inspect_objs[@]}"; do
    [ -f "$hook_tree/$o" ] || { echo "| \`$o\` | (not built) | |"; continue; }
    rc=0
    "$previrt" inspect "$hook_tree/$o" >"$tmp/one.out" 2>&1 || rc=$?
    kinds=$(awk '/^  kind/ { t = 1; next } t && /^  [a-z]/ { n[$1] += $3 } END { for (k in n) printf "%s %d\n", k, n[k] }' "$tmp/one.out" |
        sort | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
    total=$(sed -n 's/^[^ ]*: \([0-9]*\) sites in.*/\1/p' "$tmp/one.out")
    if [ "$rc" = 0 ]; then f="none (exit 0)"; else
        f="exit $rc: $(grep -E '^problem' "$tmp/one.out" | sed -E "s/^problem: .*unrecorded sensitive instruction '.*' \(([a-z0-9_]+)\)$/unrecorded \1/;t;s/^problem: [^:]*: //" |
            sort | uniq -c | sort -rn | awk '{ c = $1; $1 = ""; printf "%s%d x%s", (NR > 1 ? ", " : ""), c, $0 }')"
    fi
    echo "| \`$o\` | $total: $kinds | $f |"
done

n_bad=$(awk '$1 != 0' "$tmp/inspect-rc" | wc -l)
cat <<EOF

Over all $n_objs objects both builds made: $(wc -l <"$tmp/sites") sites; $n_bad objects with findings
(exit status 1 or 3), $(wc -l <"$tmp/findings") findings:

EOF
if [ -s "$tmp/findings" ]; then
    echo "| finding | section | count | objects |"
    echo "| --- | --- | ---: | --- |"
    sed -E "s/^([^\t]*)\tproblem: ([^ +]*)[^:]*: unrecorded sensitive instruction '.*' \(([a-z0-9_]+)\)$/\1\tunrecorded \3\t\2/;t;s/^([^\t]*)\t(problem|error): ([^ +]*)[^:]*: (.*)$/\1\t\4\t\3/" \
        "$tmp/findings" | awk -F'\t' '{ k = $2 "\t" $3; n[k]++
                if (!((k, $1) in seen)) { seen[k, $1] = 1; o[k]++; if (o[k] <= 3) names[k] = names[k] (o[k] > 1 ? ", " : "") "`" $1 "`" } }
            END { for (k in n) { split(k, p, "\t")
                printf "| %s | %s | %d | %s%s |\n", p[1], p[2], n[k], names[k], (o[k] > 3 ? sprintf(" and %d more", o[k] - 3) : "") } }' | sort -t'|' -k4,4nr
fi

cat <<EOF

### 4. Code growth by site kind

Executable sections (\`SHF_EXECINSTR\`) summed over the same $n_objs objects,
plain build against hook build; padding is site length minus instruction length
from \`previrt inspect --list\`.

EOF
paste "$tmp/size.plain" "$tmp/size.hook" | awk '{ p += $2; h += $5; s += $6 } END { print p, h, s }' >"$tmp/size.sum"
read -r text_plain text_hook sites_bytes <"$tmp/size.sum"
growth=$((text_hook - text_plain))
echo "| kind | sites | padding bytes | share of growth |"
echo "| --- | ---: | ---: | ---: |"
awk -v g="$growth" '{ n[$1]++; pad[$1] += $3 - $2; tp += $3 - $2; ts++ }
    END { for (k in n) printf "%s %d %d\n", k, n[k], pad[k] }' "$tmp/sites" | sort -k3,3nr -k1,1 |
    awk -v g="$growth" '{ printf "| %s | %d | %d | %.1f%% |\n", $1, $2, $3, g ? $3 * 100 / g : 0; s += $2; p += $3 }
        END { printf "| **all** | **%d** | **%d** | **%.1f%%** |\n", s, p, g ? p * 100 / g : 0 }'
awk -v p="$text_plain" -v h="$text_hook" -v s="$sites_bytes" 'BEGIN {
    printf "\nExecutable bytes: %d plain, %d through the hook: %+d (%+.2f%%). The padding accounts for the\n", p, h, h - p, (h - p) * 100 / p
    printf "share shown, the rest is alignment that moved. The site records (.note.previrt.sites, not executable)\n"
    printf "add %d bytes more (%.2f%% of the plain code).\n", s, s * 100 / p }'
[ "$n_missing" = 0 ] || echo "$n_missing object(s) the plain build made are missing from the hook build and are not counted."

rm -rf "$tmp"
