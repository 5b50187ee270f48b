#!/usr/bin/env bash
# Code built freestanding (the in-place VMM's core, the device models) must
# need nothing from outside itself (Zydis's headers, not its library) but the four functions GCC's
# freestanding code may call (memcpy, memmove, memset, memcmp) and
# __cxa_pure_virtual, which a freestanding program defines itself (abstract
# classes' vtables name it): no C or C++ library, no compiler run-time. usage: freestanding.sh "OBJECT;..."
set -uo pipefail
IFS=';' read -ra objects <<< "$1"
[ "${#objects[@]}" -gt 0 ] || { echo "FAIL: no objects"; exit 1; }
defined=$(nm --defined-only "${objects[@]}" | awk 'NF == 3 { print $3 }' | sort -u)
missing=$(nm -u "${objects[@]}" | awk 'NF == 2 { print $2 }' | sort -u | grep -vxF -f <(echo "$defined") | grep -vxE 'memcpy|memmove|memset|memcmp|__cxa_pure_virtual')
if [ -n "$missing" ]; then
    echo "FAIL: freestanding code needs symbols from outside it:"
    echo "$missing" | c++filt
    exit 1
fi
echo "ok: ${#objects[@]} objects, nothing needed from outside"
