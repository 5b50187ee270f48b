#!/usr/bin/env bash
# Extracts Debian's Linux 6.1 source (package linux-source-6.1, installed with
# apt-get if missing, with what building it needs) into DIR, which must not
# exist yet, and prints the tree's path.
#
#   extract.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: extract.sh DIR" >&2; exit 2; }
dir=$1
[ -e "$dir" ] && { echo "extract.sh: $dir exists already" >&2; exit 1; }
packages=(linux-source-6.1 build-essential bc flex bison libelf-dev libssl-dev xz-utils cpio)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "extract.sh: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
mkdir -p "$dir"
tar -C "$dir" -xf /usr/src/linux-source-6.1.tar.xz
echo "$(cd "$dir" && pwd)/linux-source-6.1"
