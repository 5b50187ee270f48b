#!/usr/bin/env bash
# The whole test suite: unit and toolchain tests (CTest), then a bounded libFuzzer
# run of every parser that reads untrusted input, in a clang build of its own.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

"$repo/scripts/setup.sh" "$repo/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPREVIRT_FUZZ=ON
(cd "$repo/build-fuzz" && ctest -L fuzz --output-on-failure -j "$jobs")

"$repo/scripts/setup.sh" "$repo/build"
cd "$repo/build"
ctest -LE fuzz --output-on-failure -j "$jobs"
