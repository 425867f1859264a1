#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite through CTest, twice: the normal build and
# the ASan+UBSan build. Exits non-zero if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)

echo "== normal build (build/)"
# No debug info in the CI builds: it is a third of the compile time on 2 cores, and the
# whole run must stay under 10 minutes. ASan keeps line tables (-g1) for its reports.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== sanitizer build (build-asan/, ASan+UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DIRQREMAP_SANITIZE=ON \
      -DIRQREMAP_BUILD_BENCH=OFF \
      -DIRQREMAP_BUILD_FUZZ=ON >/dev/null  # fuzz targets: replay + a smoke run each (tests/fuzz)
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
