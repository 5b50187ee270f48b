#!/usr/bin/env bash
# Installs the Debian packages previrt needs (those missing), then configures and
# builds it with CMake and Ninja. Usage: scripts/setup.sh [BUILD_DIR] [cmake args...]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
shift || true

packages=(
    build-essential binutils cmake ninja-build   # the toolchain the afterburner hooks into
    libzydis-dev libfmt-dev                      # x86 decoding, formatting
    nettle-dev                                   # SHA-256 of the images benchmarks name
    libgtest-dev                                 # tests
    clang libclang-rt-dev                        # libFuzzer
    qemu-system-x86                              # the bare PC the guest boots on
    gnuplot-nox                                  # previrt bench --plot
    gdb                                          # debugging the guest kernel as a process (a test does it)
    cpio kmod                                    # the initramfs of KVM on AMD-V, emulated (testing/amdv)
    linux-source-6.1 bc flex bison libelf-dev libssl-dev xz-utils  # a whole Linux through the hook (testing/linux)
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
