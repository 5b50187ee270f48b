#!/usr/bin/env bash
# Console echo as a person would see it: boots the self-test with "echo" on
# a platform, waits for its prompt on the serial line, types a line, and checks
# that the guest echoed it and the self-test passed.
# usage: echo.sh PREVIRT PLATFORM IMAGE
# RUN_FLAGS: more flags for `previrt run` (--previrt, --no-kvm-irqchip).
set -uo pipefail
previrt=$1 platform=$2 image=$3
typed="hello previrt"
read -ra flags <<< "${RUN_FLAGS:-}"
coproc GUEST { "$previrt" run --on "$platform" "$image" --cmdline "echo" --timeout 240 "${flags[@]}" 2>&1; }
pid=$GUEST_PID  # bash forgets these once the coprocess ends: keep copies
exec {from_guest}<&"${GUEST[0]}" {to_guest}>&"${GUEST[1]}"
out=""
sent=0
while IFS= read -r -N 1 -t 240 c <&"$from_guest"; do
    printf '%s' "$c"
    out+=$c
    if ((!sent)) && [[ $out == *"echo> " ]]; then
        printf '%s\n' "$typed" >&"$to_guest"
        sent=1
    fi
done
wait "$pid"
status=$?
echo "-- previrt run exited with status $status"
((sent)) || { echo "FAIL: the guest never prompted"; exit 1; }
[[ $out == *"echo: $typed"* ]] || { echo "FAIL: the guest did not echo the line"; exit 1; }
[[ $out =~ [0-9]+\ passed,\ 0\ failed ]] || { echo "FAIL: the self-test failed"; exit 1; }
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status"; exit 1; }
