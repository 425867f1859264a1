#!/usr/bin/env bash
# Runs one fuzz target for longer than the test suite's smoke run:
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]
# TARGET is a name from tests/fuzz/fuzz_<name>.cpp (vtd, its, device, loaders, cli,
# machine_arm64, machine_x86). Builds in build-fuzz/ with ASan+UBSan at -O1 and every
# library instrumented (tests/fuzz/README.md), starts from the committed corpus and
# regressions, keeps what it learns in build-fuzz/fuzz-corpus/TARGET and writes any
# finding to build-fuzz/fuzz-findings/TARGET/ (copy it to tests/fuzz/regressions/TARGET/
# once fixed). Set JOBS=N to run N fuzzing processes (libFuzzer -fork).
#
# SANITIZE=undefined builds in build-fuzz-ubsan/ without ASan, for long campaigns of the
# machine targets: there ASan's allocator, which every allocation of the uninstrumented
# Unicorn goes through, is most of a run (4x for machine_arm64, 2x for machine_x86).
# Such a campaign shares build-fuzz/'s corpus and findings; replay the corpus it grew
# under ASan+UBSan afterwards: tools/fuzz.sh TARGET 1 -runs=0.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 2)); then
  echo "usage: tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
if [[ ! -f tests/fuzz/fuzz_$target.cpp ]]; then
  echo "fuzz.sh: no target '$target' (tests/fuzz/fuzz_*.cpp)" >&2
  exit 2
fi
sanitize=${SANITIZE:-address,undefined}
case $sanitize in
  address,undefined) build=build-fuzz ;;
  undefined) build=build-fuzz-ubsan ;;
  *) echo "fuzz.sh: SANITIZE must be address,undefined (the default) or undefined" >&2; exit 2 ;;
esac
bash tools/setup.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DIRQREMAP_SANITIZE=ON -DIRQREMAP_SANITIZERS="$sanitize" -DIRQREMAP_BUILD_TESTS=OFF \
      -DIRQREMAP_BUILD_BENCH=OFF -DIRQREMAP_BUILD_FUZZ=ON -DIRQREMAP_FUZZ_COVERAGE=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "fuzz_$target"

corpus=build-fuzz/fuzz-corpus/$target findings=build-fuzz/fuzz-findings/$target
mkdir -p "$corpus" "$findings"
dirs=("$corpus" "tests/fuzz/corpus/$target")
[[ -d tests/fuzz/regressions/$target ]] && dirs+=("tests/fuzz/regressions/$target")
fork=()
[[ -n ${JOBS:-} ]] && fork=(-fork="$JOBS" -ignore_crashes=1)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 \
  -print_final_stats=1 -artifact_prefix="$findings/" "${fork[@]}" "$@" "${dirs[@]}"
