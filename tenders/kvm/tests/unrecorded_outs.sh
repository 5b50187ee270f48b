#!/usr/bin/env bash
# Pre-virtualized, an access the site records missed still exits to
# previrt-vmm; it must reach the same device models as the recorded ones (the
# in-place VMM's, through the channel): the guest with every `out` record
# erased (erase_records.sh) boots and runs its self-test as the whole image does.
# usage: unrecorded_outs.sh PREVIRT IMAGE BOOT_KVM_SH
set -uo pipefail
previrt=$1 image=$2 boot_kvm=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
erased=$(mktemp)
trap 'rm -f "$erased"' EXIT
"$here/erase_records.sh" "$image" "$erased" 47 || { echo "FAIL: could not erase the out records"; exit 1; }
env RUN_FLAGS=--previrt UNRECORDED_OUTS=1 "$boot_kvm" "$previrt" "$erased"
