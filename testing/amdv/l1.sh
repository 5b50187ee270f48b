#!/usr/bin/env bash
# KVM on AMD-V, emulated: boots Debian's own kernel on QEMU TCG with a CPU that
# has SVM, loads kvm and kvm_amd in it, and runs a list of commands there, each
# against that /dev/kvm: KVM's real SVM code, with the semantics of the hosts
# users have (docs/kvm.md, "Three kinds of KVM host").
#
# usage: l1.sh [options] COMMANDS
#   COMMANDS             a file, one command a line: NAME COMMAND... ('#' starts a
#                        comment line); COMMAND is run by sh in L1
#   --out DIR            where each command's results come back (made if missing):
#                        NAME.out (its standard output and error), NAME.status (its
#                        exit status), NAME/ (its working directory: what it wrote)
#   --put PATH           carries a file or a folder into L1 at the same path
#                        (repeatable); ELF executables bring their shared libraries
#   --work DIR           the packages and the L1 initramfs (default: ./amdv-work)
#   --timeout SECONDS    the whole L1 run, its boot included (default 1800)
#   --command-timeout SECONDS  each command (default 600)
#   --mem MIB            L1's memory (default 3072)
#   environment: QEMU, the qemu-system-x86_64 to run (default: the one on PATH)
#
# The L1 kernel and busybox are Debian's packages (linux-image-amd64 and
# busybox-static), fetched with apt-get download into --work; the modules kvm_amd
# needs come from the kernel's own modules.dep. Results come back through a 9p
# share of --out, L1's console to --out/l1-console.log.
#
# Exit status: 0 when L1 ran every command (whatever their statuses: read
# NAME.status); 2 bad usage; 3 something to run L1 with is missing (QEMU, a
# package, a module); 4 L1 itself failed (it panicked, offered no /dev/kvm, or
# never answered in time). Every failure is named on standard error.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="" work="$PWD/amdv-work" timeout=1800 command_timeout=600 mem=3072
puts=()
usage() { echo "usage: l1.sh [--out DIR] [--put PATH]... [--work DIR] [--timeout S] [--command-timeout S] [--mem MIB] COMMANDS" >&2; exit 2; }
die() { local code=$1; shift; echo "l1.sh: $*" >&2; exit "$code"; }
number() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die 2 "$1 wants a positive whole number, not '$2'"; }
commands=""
while (($#)); do
    case $1 in
        --out) out=${2:?}; shift 2 ;;
        --put) puts+=("${2:?}"); shift 2 ;;
        --work) work=${2:?}; shift 2 ;;
        --timeout) number "$1" "${2:-}"; timeout=$2; shift 2 ;;
        --command-timeout) number "$1" "${2:-}"; command_timeout=$2; shift 2 ;;
        --mem) number "$1" "${2:-}"; mem=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) usage ;;
        *) [ -z "$commands" ] || usage; commands=$1; shift ;;
    esac
done
[ -n "$commands" ] && [ -n "$out" ] || usage
[ -f "$commands" ] || die 2 "no commands file $commands"
while read -r name rest; do
    [[ -z $name || $name == \#* ]] && continue
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "$commands: '$name' is not a command name (letters, digits, '.', '_', '-')"
    [ -n "$rest" ] || die 2 "$commands: '$name' has no command"
done <"$commands"
for p in "${puts[@]}"; do
    [[ $p == /* ]] || die 2 "--put wants an absolute path, not '$p'"
    [ -e "$p" ] || die 2 "--put $p: no such file or folder"
    case "$p/" in
    /proc/* | /sys/* | /dev/* | /out/* | /l1/*) die 2 "--put $p: L1 mounts or fills that folder itself" ;;
    esac
done

qemu=$(command -v "${QEMU:-qemu-system-x86_64}") || die 3 "no ${QEMU:-qemu-system-x86_64} (Debian's qemu-system-x86; scripts/setup.sh installs it)"
for tool in cpio depmod apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || die 3 "no $tool (scripts/setup.sh installs cpio and kmod)"
done

# fetch PACKAGE: the package's .deb in $work/debs, downloaded once.
mkdir -p "$work/debs" || die 3 "cannot make $work"
fetch() {
    local deb
    deb=$(find "$work/debs" -name "${1}_*.deb" -print -quit)
    if [ -z "$deb" ]; then
        (cd "$work/debs" && apt-get download "$1" >/dev/null 2>"$work/debs/$1.err") ||
            { apt-get update -qq >/dev/null 2>&1 && (cd "$work/debs" && apt-get download "$1" >/dev/null 2>"$work/debs/$1.err"); } ||
            die 3 "cannot fetch Debian's $1: $(tail -1 "$work/debs/$1.err")"
        deb=$(find "$work/debs" -name "${1}_*.deb" -print -quit)
    fi
    [ -n "$deb" ] || die 3 "apt-get download $1 brought no .deb"
    echo "$deb"
}
# linux-image-amd64 is a metapackage: the kernel is the package it depends on.
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
if [ -z "$kernel_pkg" ]; then
    apt-get update -qq >/dev/null 2>&1
    kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
fi
[ -n "$kernel_pkg" ] || die 3 "apt-cache knows no linux-image-amd64 (no Debian kernel package to boot as L1)"
kernel_deb=$(fetch "$kernel_pkg") || exit
busybox_deb=$(fetch busybox-static) || exit

kernel_dir=$work/$kernel_pkg
if [ ! -f "$kernel_dir/.unpacked" ]; then
    rm -rf "$kernel_dir" && mkdir -p "$kernel_dir" && dpkg-deb -x "$kernel_deb" "$kernel_dir" ||
        die 3 "cannot unpack $kernel_deb"
    touch "$kernel_dir/.unpacked"
fi
vmlinuz=$(find "$kernel_dir/boot" -name 'vmlinuz-*' -print -quit)
[ -n "$vmlinuz" ] || die 3 "$kernel_pkg holds no boot/vmlinuz-*"
release=${vmlinuz##*/vmlinuz-}
moddir=$kernel_dir/lib/modules/$release
[ -f "$moddir/modules.dep" ] || depmod -b "$kernel_dir" "$release" || die 3 "depmod failed on $kernel_pkg's modules"

# modules: the .ko files that load the named modules, dependencies first
# (modules.dep lists each module's dependencies, itself not among them).
declare -A seen=()
order=()
add_module() {  # PATH_RELATIVE_TO_MODDIR
    [ -n "${seen[$1]:-}" ] && return 0
    seen[$1]=1
    local deps dep
    deps=$(grep -m1 "^$1:" "$moddir/modules.dep" | cut -d: -f2-)
    for dep in $deps; do add_module "$dep"; done
    order+=("$1")
}
for module in kvm-amd virtio_pci 9pnet_virtio 9p; do
    path=$(grep -Eo "^[^:]*/$module\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -1 | tr -d :)
    [ -n "$path" ] || die 3 "$kernel_pkg has no module $module (modules.dep)"
    add_module "$path"
done

# The initramfs: busybox, the modules, what --put names (with the shared
# libraries of its executables), bash for the commands, the commands, /init.
root=$work/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,out,l1/modules} || die 3 "cannot make $root"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -x -C "$root" ./bin/busybox || die 3 "no bin/busybox in $busybox_deb"
for m in "${order[@]}"; do cp "$moddir/$m" "$root/l1/modules/" && basename "$m"; done >"$root/l1/modules/order" ||
    die 3 "cannot copy the modules"
carry() {  # PATH: the file at the same path in L1, an ELF file with its libraries
    local path=$1 lib
    [ -e "$root$path" ] && return 0
    mkdir -p "$root$(dirname "$path")" && cp -L "$path" "$root$path" || die 3 "cannot carry $path into L1"
    if [ -f "$path" ] && [ "$(head -c4 "$path" | od -An -c | tr -d ' ')" = "177ELF" ]; then
        for lib in $(ldd "$path" 2>/dev/null | grep -Eo '/[^ ]+' ); do carry "$lib"; done
    fi
}
carry "$(command -v bash)"
ln -sf "$(command -v bash)" "$root/bin/bash" 2>/dev/null
for p in "${puts[@]}"; do
    if [ -d "$p" ]; then
        while IFS= read -r f; do carry "$f"; done < <(find "$p" -type f)
    else
        carry "$p"
    fi
done
grep -v '^[[:space:]]*\(#\|$\)' "$commands" >"$root/l1/commands"
echo "$command_timeout" >"$root/l1/command-timeout"
install -m 755 "$here/init" "$root/init" || die 3 "no $here/init"
initrd=$work/initramfs.cpio.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd" || die 3 "cannot write the initramfs"

mkdir -p "$out" || die 2 "cannot make $out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}"/l1.* "$out/l1-console.log"
while read -r name _; do rm -rf "${out:?}/$name" "$out/$name.out" "$out/$name.status"; done <"$root/l1/commands"

console=$out/l1-console.log
echo "l1.sh: booting $kernel_pkg on QEMU TCG (-cpu EPYC,+svm), $(wc -l <"$root/l1/commands") commands" >&2
start=$(date +%s)
timeout -k 10 "$timeout" "$qemu" -accel tcg -cpu EPYC,+svm -smp 1 -m "$mem" -no-reboot \
    -display none -monitor none -serial "file:$console" \
    -kernel "$vmlinuz" -initrd "$initrd" -append "console=ttyS0 panic=-1 quiet" \
    -virtfs "local,path=$out,mount_tag=previrt-out,security_model=none" </dev/null 2>"$out/l1.qemu-stderr"
status=$?
elapsed=$(($(date +%s) - start))

tail_console() { echo "-- the end of L1's console ($console):" >&2; tail -n 25 "$console" >&2; }
if [ -f "$out/l1.error" ]; then
    tail_console
    die 4 "L1 failed: $(cat "$out/l1.error")"
fi
if [ ! -f "$out/l1.done" ]; then
    running=""
    [ -f "$out/l1.running" ] && running=" while running '$(cat "$out/l1.running")'"
    tail_console
    [ "$status" -eq 124 ] || [ "$status" -eq 137 ] && die 4 "L1 never finished within $timeout s$running"
    grep -q "Kernel panic" "$console" 2>/dev/null && die 4 "the L1 kernel panicked$running"
    [ -s "$out/l1.qemu-stderr" ] && cat "$out/l1.qemu-stderr" >&2
    [ -f "$out/l1.ready" ] || die 4 "L1 never came up (QEMU exited with status $status)"
    die 4 "L1 stopped before its last command$running (QEMU exited with status $status)"
fi
while read -r name _; do
    s=$(cat "$out/$name.status" 2>/dev/null || echo "none")
    echo "l1.sh: $name: status $s"
done <"$root/l1/commands" >&2
echo "l1.sh: L1 ran every command in $elapsed s" >&2
exit 0
