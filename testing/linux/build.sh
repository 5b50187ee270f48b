#!/usr/bin/env bash
# Builds Debian's Linux 6.1 for x86-64 as a user would, plain or through the
# afterburner: `make CONFIG` (tinyconfig or defconfig) with boot.config merged
# in (a serial console; init.c, built here, as /init of a built-in initramfs),
# then `make bzImage`, and `make modules` where the configuration has any, with
# CC=gcc or, given the directory of a drop-in `as`, CC="gcc -B HOOK".
#
#   build.sh SOURCE CONFIG OUT [HOOK]
#
# SOURCE is an extracted kernel tree, used read-only (O=OUT/tree); extract.sh
# makes one. OUT is created and must not exist yet. Writes OUT/tree (the output
# tree: arch/x86/boot/bzImage, vmlinux), OUT/build.log, OUT/time ("wall user
# sys", seconds, of the make of bzImage and modules) and OUT/link-warnings
# (every warning of the linker, with OUT and SOURCE taken out of it so that two
# builds compare). Env: JOBS (make -j, default nproc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 3 ] && [ $# -le 4 ] || { echo "usage: build.sh SOURCE CONFIG OUT [HOOK]" >&2; exit 2; }
src=$(cd "$1" && pwd) config=$2 out=$3 hook=${4:-}
jobs=${JOBS:-$(nproc)}
die() { echo "build.sh: $*" >&2; exit 1; }
case $config in tinyconfig | defconfig) ;; *) die "CONFIG is tinyconfig or defconfig, not '$config'" ;; esac
[ -f "$src/Makefile" ] && [ -d "$src/arch/x86" ] || die "$src is not a kernel source tree"
[ -e "$out" ] && die "$out exists already"
cc=gcc
if [ -n "$hook" ]; then
    [ -x "$hook/as" ] || die "$hook has no executable 'as'"
    cc="gcc -B $(cd "$hook" && pwd)"
fi
mkdir -p "$out/tree"
out=$(cd "$out" && pwd)
tree=$out/tree
log=$out/build.log

# The initramfs: /init and the console it writes to.
gcc -static -nostdlib -ffreestanding -O2 -fno-pie -no-pie -fno-stack-protector -o "$out/init" "$here/init.c"
printf 'dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nfile /init %s 0755 0 0\n' "$out/init" \
    >"$out/initramfs.list"
cp "$here/boot.config" "$out/boot.config"
echo "CONFIG_INITRAMFS_SOURCE=\"$out/initramfs.list\"" >>"$out/boot.config"

kmake() { make -C "$src" O="$tree" ARCH=x86_64 CC="$cc" "$@"; }
{
    kmake "$config"
    (cd "$tree" && "$src/scripts/kconfig/merge_config.sh" -m .config "$out/boot.config")
    kmake olddefconfig
} >"$log" 2>&1 || die "configuring failed, see $log"
for option in $(grep -v '^#' "$here/boot.config" | cut -d= -f1); do
    grep -q "^$option=" "$tree/.config" || die "$option did not stay set in the $config configuration"
done

targets=(bzImage)
grep -q '^CONFIG_MODULES=y' "$tree/.config" && targets+=(modules)
start=$(date +%s.%N)
# make's own children are what we time (bash's `times` of this subshell).
(
    kmake -j"$jobs" "${targets[@]}" >>"$log" 2>&1 || exit 1
    times >"$out/times"
) || die "make ${targets[*]} failed, see $log"
end=$(date +%s.%N)
# `times`' second line: the children's user and system time, "XmY.YYYs".
read -r cu cs < <(sed -n 2p "$out/times")
secs() { awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%.2f", a[1] * 60 + a[2] }'; }
echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') $(secs "$cu") $(secs "$cs")" >"$out/time"

{ grep -E '(^|[/ ])ld(\.bfd)?: warning:' "$log" || true; } | sed -e "s|$tree/||g" -e "s|$src/||g" | sort -u \
    >"$out/link-warnings"
echo "build.sh: $config ${hook:+through the hook }built in $(cut -d' ' -f1 "$out/time") s" >&2
