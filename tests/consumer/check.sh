#!/usr/bin/env bash
# Installs the irqremap build in BUILD_DIR to a fresh prefix under WORK_DIR, then builds
# and runs tests/consumer twice: as a CMake project (find_package) and with pkg-config.
# Both must print the stub's UART line. Extra compiler flags (the sanitizer build's) come
# in CONSUMER_FLAGS so the consumer links against libraries built with them.
# Usage: check.sh BUILD_DIR WORK_DIR CXX
set -euo pipefail
build=$1 work=$2 cxx=$3
src=$(cd "$(dirname "$0")" && pwd)
flags=${CONSUMER_FLAGS:-}
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

expect='uart: irqremap: hello from arm64'
check_output() {
  local what=$1 out=$2
  if ! grep -qF "$expect" <<<"$out" || ! grep -qF 'stop: system off' <<<"$out"; then
    echo "consumer ($what) printed:"; echo "$out"; exit 1
  fi
  echo "consumer ($what): ok"
}

cmake -S "$src" -B "$work/cmake-build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
check_output cmake "$("$work/cmake-build/consumer")"

pcdir=$(dirname "$(find "$prefix" -name irqremap.pc)")
# shellcheck disable=SC2046 # pkg-config's output is a list of words
"$cxx" -std=c++23 $flags -o "$work/consumer-pc" "$src/consumer.cpp" \
       $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs irqremap)
check_output pkg-config "$("$work/consumer-pc")"
