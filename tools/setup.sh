#!/usr/bin/env bash
# Installs every Debian package irqremap needs to build, test and demo, when missing.
# Idempotent and quick when nothing is missing; non-interactive; needs root (or sudo).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git
  clang lld llvm                      # guest firmware: clang/lld assemble and link it
  libunicorn-dev libcapstone-dev      # vCPUs and disassembly
  libfdt-dev device-tree-compiler     # the AArch64 device tree (libfdt); dtc to read it in tests
  doctest-dev                         # tests
  libcli11-dev nlohmann-json3-dev libfmt-dev libbenchmark-dev
  zlib1g-dev                          # snapshot files: CRC-32 (snapshot/snapshot_file.h)
  qemu-system-arm                     # differential check of the AArch64 stubs against QEMU
  gdb-multiarch                       # the GDB stub (run --gdb) is tested with the real client
  libclang-rt-14-dev binutils         # fuzzing: libFuzzer's runtime; objcopy (tests/fuzz/README.md)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
