#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite through CTest, twice: the normal build and
# the ASan+UBSan build. Exits non-zero if either fails. Tests whose outside data is missing
# (kvm-unit-tests images: tests/kvm-unit-tests/README.md) are skipped, each with a
# "SKIPPED:" line; the summary at the end lists them. IRQREMAP_REQUIRE_TEST_DATA=1 (as
# .ci/run sets it) makes a missing image a failure instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)

# The SKIPPED: lines the tests of one build printed (ctest keeps every test's output in
# LastTest.log, also of the tests that passed).
skipped() {
  { grep -ho 'SKIPPED: .*' "$1/Testing/Temporary/LastTest.log" 2>/dev/null || true; } | sort -u | sed "s|^|$1/: |"
}

echo "== normal build (build/)"
# No debug info in the CI builds: it is a third of the compile time on 2 cores, and the
# whole run must stay under 20 minutes. ASan keeps line tables (-g1) for its reports and
# builds at -O1, as the AddressSanitizer documentation advises: at -O0 every inline
# template call (std::function, iterators, std::expected) stays a call, and the sanitized
# suites ran 2.6x longer (test_arm64: 455 s at -O0, 174 s at -O1) for about 15% less
# compile time.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
# Tests labelled `long` (the kvm-unit-tests sieves, tests/CMakeLists.txt) only with
# IRQREMAP_LONG_TESTS=1: the whole run must stay under 20 minutes on CI's 2 cores.
long=(-LE long)
[[ "${IRQREMAP_LONG_TESTS:-0}" == 1 ]] && long=()
ctest --test-dir build --output-on-failure -j"$jobs" "${long[@]}"
skipped_normal=$(skipped build)

echo "== sanitizer build (build-asan/, ASan+UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DIRQREMAP_SANITIZE=ON \
      -DIRQREMAP_BUILD_BENCH=OFF \
      -DIRQREMAP_BUILD_FUZZ=ON >/dev/null  # fuzz targets: replay + a smoke run each (tests/fuzz)
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
skipped_asan=$(skipped build-asan)

if [[ -n "$skipped_normal$skipped_asan" ]]; then
  echo "== skipped tests (missing test data; the rest passed)"
  [[ -z "$skipped_normal" ]] || echo "$skipped_normal"
  [[ -z "$skipped_asan" ]] || echo "$skipped_asan"
else
  echo "== no test skipped"
fi
