#!/usr/bin/env bash
# l1.sh on bad input: each case fails with its exit status and a message
# naming the problem, within a bounded time; a command that hangs in L1 is
# killed and named while the others still run.
# usage: errors.sh L1_SH
set -uo pipefail
l1=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # STATUS PATTERN COMMAND...
    local want=$1 pattern=$2 out got
    shift 2
    out=$("$@" 2>&1)
    got=$?
    echo "$out"
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, not $want"
    grep -q -- "$pattern" <<<"$out" || fail "'$*' did not say '$pattern'"
}
printf 'ok true\n' >"$tmp/commands"
printf 'bad/name true\n' >"$tmp/bad-name"
printf 'lonely\n' >"$tmp/no-command"
expect 2 "usage:" "$l1" "$tmp/commands"
expect 2 "no commands file" "$l1" --out "$tmp/out" "$tmp/missing"
expect 2 "'bad/name' is not a command name" "$l1" --out "$tmp/out" "$tmp/bad-name"
expect 2 "'lonely' has no command" "$l1" --out "$tmp/out" "$tmp/no-command"
expect 2 "wants an absolute path" "$l1" --out "$tmp/out" --put relative "$tmp/commands"
expect 2 "no such file or folder" "$l1" --out "$tmp/out" --put /nonexistent/x "$tmp/commands"
expect 2 "L1 mounts or fills that folder itself" "$l1" --out "$tmp/out" --put /proc/self "$tmp/commands"
expect 2 "wants a positive whole number" "$l1" --out "$tmp/out" --timeout soon "$tmp/commands"
expect 3 "no /nonexistent/qemu (Debian" env QEMU=/nonexistent/qemu "$l1" --out "$tmp/out" "$tmp/commands"
work=${AMDV_WORK:-$tmp/work}
# An L1 that cannot finish in time is named, with the time it had.
expect 4 "L1 never finished within 3 s" "$l1" --work "$work" --out "$tmp/out" --timeout 3 "$tmp/commands"
# A command that hangs is killed after its limit; the next still runs.
printf 'hang sleep 1000\nafter echo still here\n' >"$tmp/hang"
expect 0 "hang: status 124" "$l1" --work "$work" --out "$tmp/out" --command-timeout 5 "$tmp/hang"
grep -q "'hang' did not finish within 5 s: killed" "$tmp/out/hang.out" || fail "the hung command was not named"
[ "$(cat "$tmp/out/after.status")" = 0 ] && grep -q "still here" "$tmp/out/after.out" ||
    fail "the command after the hung one did not run"
echo "ok"
