#!/usr/bin/env bash
# The core, built freestanding, must need nothing from outside but Zydis: no
# C or C++ library, no compiler run-time. usage: freestanding.sh "OBJECT;..."
set -uo pipefail
IFS=';' read -ra objects <<< "$1"
[ "${#objects[@]}" -gt 0 ] || { echo "FAIL: no objects"; exit 1; }
defined=$(nm --defined-only "${objects[@]}" | awk 'NF == 3 { print $3 }' | sort -u)
missing=$(nm -u "${objects[@]}" | awk 'NF == 2 { print $2 }' | sort -u | grep -vxF -f <(echo "$defined") | grep -v '^Zydis')
if [ -n "$missing" ]; then
    echo "FAIL: the freestanding core needs symbols from outside it and Zydis:"
    echo "$missing" | c++filt
    exit 1
fi
echo "ok: ${#objects[@]} objects, nothing needed but Zydis"
