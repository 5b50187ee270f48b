#!/usr/bin/env bash
# previrt-vmm against a guest that lies through the in-place VMM's channel
# (liar/liar.cpp): each lie is named and stops the run, or, for device
# states of random bytes, is taken through the models and the run goes on to
# the guest's own exit status. Never a crash or a hang.
# usage: liar.sh PREVIRT LIAR_IMAGE
set -uo pipefail
previrt=$1 image=$2
fail() { echo "FAIL: $*"; exit 1; }
run() {  # run LIE: sets out and status
    out=$("$previrt" run --on kvm --previrt "$image" --cmdline "$1" --timeout 120 2>&1 </dev/null)
    status=$?
    echo "== $1: status $status"
    echo "$out"
    [ "$status" -eq 121 ] && { echo "SKIP: no usable /dev/kvm"; exit 77; }
    [ "$status" -lt 128 ] || fail "previrt died of a signal on the '$1' lie"
}
run console
[ "$status" -eq 125 ] || fail "console lie: status $status, not 125"
grep -q "the guest broke the in-place VMM's channel: the console ring says 2147418109 bytes wait" <<<"$out" ||
    fail "console lie: not named"
run doorbell
[ "$status" -eq 125 ] || fail "doorbell lie: status $status, not 125"
grep -q "rang the doorbell with 119, which means nothing" <<<"$out" || fail "doorbell lie: not named"
run badcall
[ "$status" -eq 125 ] || fail "bad-call lie: status $status, not 125"
grep -q "it entered the in-place VMM with 0x7fff0000 (returning to 0x[0-9a-f]*), which is neither" <<<"$out" ||
    fail "bad-call lie: not named"
run badport
[ "$status" -eq 125 ] || fail "bad-port lie: status $status, not 125"
grep -q "it entered the in-place VMM with 0x7fff0002 (returning" <<<"$out" || fail "bad-port lie: not named"
run devices
[ "$status" -eq 51 ] || fail "device-state lie: status $status, not the guest's 0x33"
echo "ok: every lie named or absorbed"
