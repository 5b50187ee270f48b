#!/usr/bin/env bash
# The main job: builds previrt and the sample guest code through the afterburner
# (gcc -B with the assembler hook), then prints the guest's site report.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build
"$repo/scripts/setup.sh" "$build"

echo
echo "== afterburnt sample guest: sites by kind and section, each checked =="
"$build/tools/previrt/previrt" inspect --list "$build/samples/afterburner/afterburner_sample"
