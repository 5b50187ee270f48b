#!/usr/bin/env bash
# The afterburner on a whole real kernel: Debian's Linux 6.1, CONFIG
# (tinyconfig or defconfig), built plain and through `previrt as`, then
#   - the hook's build links with no warning the plain build does not give;
#   - `previrt inspect` finds every sensitive instruction of vmlinux recorded
#     (and of each module), and the records are in what a monitor loads: the
#     bzImage's payload, vmlinux stripped (compressed/vmlinux.bin);
#   - the hook's bzImage boots on QEMU, the bare PC, to user space.
#
#   test.sh PREVIRT CONFIG [WORK]
#
# Works in a new directory under WORK (default: the system's temporary one),
# removed at the end. Env: JOBS (make -j).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: test.sh PREVIRT CONFIG [WORK]" >&2; exit 2; }
previrt=$(realpath "$1") config=$2
[ -n "${3:-}" ] && mkdir -p "$3"
work=$(mktemp -d "${3:-${TMPDIR:-/tmp}}/previrt-linux.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

src=$("$here/extract.sh" "$work/src")
mkdir "$work/hook"
ln -s "$previrt" "$work/hook/as"
"$here/build.sh" "$src" "$config" "$work/plain"
"$here/build.sh" "$src" "$config" "$work/hook-build" "$work/hook"
tree=$work/hook-build/tree

# The link: nothing new.
new=$(comm -13 "$work/plain/link-warnings" "$work/hook-build/link-warnings")
[ -z "$new" ] || fail "the hook's build has link warnings the plain one does not:
$new"
echo "link warnings: $(wc -l <"$work/plain/link-warnings") in either build, none new"

# Every sensitive instruction recorded, in vmlinux and in the payload.
inspect() {
    local out status=0
    out=$("$previrt" inspect "$1" 2>&1) || status=$?
    [ "$status" -eq 0 ] && grep -q "^ok: every sensitive instruction is recorded" <<<"$out" ||
        fail "previrt inspect $1 (status $status):
$out"
    grep -o '^[^:]*: [0-9]* sites' <<<"$out" | grep -o '[0-9]* sites$' | cut -d' ' -f1
}
sites=$(inspect "$tree/vmlinux")
[ "$sites" -gt 1000 ] || fail "vmlinux has $sites sites, not the thousands a kernel has"
payload=$(inspect "$tree/arch/x86/boot/compressed/vmlinux.bin")
[ "$payload" -eq "$sites" ] || fail "vmlinux has $sites sites, its stripped payload $payload"
echo "vmlinux: $sites sites, all of them in the bzImage's payload too"
modules=0
while IFS= read -r -d '' ko; do
    inspect "$ko" >/dev/null
    modules=$((modules + 1))
done < <(find "$tree" -name '*.ko' -print0)
echo "modules: $modules, each inspected clean"

# The hook's bzImage on the bare PC, to user space.
console=$work/console.log
status=0
timeout 300 qemu-system-x86_64 -kernel "$tree/arch/x86/boot/bzImage" -append "console=ttyS0 panic=-1" \
    -m 256 -display none -serial "file:$console" -monitor none -no-reboot || status=$?
grep -q "^previrt-linux-init: user space runs as /init" "$console" ||
    fail "the bzImage did not reach user space (QEMU status $status); its console:
$(tail -40 "$console")"
echo "bzImage: booted on QEMU to user space"
