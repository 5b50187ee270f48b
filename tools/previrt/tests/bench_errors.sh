#!/usr/bin/env bash
# `previrt bench` on a bad command line: exit status 2 and a line naming the problem, before any boot.
# usage: bench_errors.sh PREVIRT
set -uo pipefail
previrt=$1
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # PATTERN ARGS...
    local pattern=$1
    shift
    out=$(timeout 20 "$previrt" bench "$@" 2>&1 </dev/null)
    status=$?
    echo "$out"
    [ "$status" -eq 2 ] || fail "'previrt bench $*' exited $status, not 2"
    grep -q -- "$pattern" <<<"$out" || fail "'previrt bench $*' did not say '$pattern'"
}
expect "--section wants letters, digits and '-', not 'a b'" --markdown x.md --section "a b"
expect "--section wants letters, digits and '-', not '../x'" --section ../x
expect "--runs wants a whole number from 1 to 100000, not '0'" --runs 0
expect "--on process or --on kvm, not 'xen'" --on xen
expect "--plot is for --on process" --on kvm --plot x.png
# An image named on the command line that is not there: status 3, before any boot.
for flag in --image --pv-image; do
    out=$(timeout 20 "$previrt" bench "$flag" /nonexistent/guest.elf 2>&1 </dev/null)
    status=$?
    echo "$out"
    [ "$status" -eq 3 ] || fail "'previrt bench $flag /nonexistent/guest.elf' exited $status, not 3"
    grep -q -- "$flag /nonexistent/guest.elf: no such file" <<<"$out" || fail "$flag: the missing file is not named"
done
echo "ok: every bad command line named"
