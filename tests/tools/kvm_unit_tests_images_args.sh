#!/usr/bin/env bash
# tools/kvm-unit-tests-images.sh without the kvm-unit-tests source: --help, the errors for
# a missing or wrong checkout, and the plan --dry-run prints (the pinned commit, the
# configure flags, the make targets the tests need). The build itself needs the source
# and is not run here.
set -euo pipefail
script=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$script" --help >"$tmp/help" || fail "--help exits non-zero"
grep -q 'Usage:' "$tmp/help" || fail "--help prints no usage"

expect_error() {  # WANT_TEXT ARGS...
  local want=$1 rc=0
  shift
  bash "$script" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [[ $rc -eq 2 ]] || fail "$* exits $rc, not 2"
  grep -q -- "$want" "$tmp/err" || fail "$*: stderr lacks '$want': $(cat "$tmp/err")"
}
expect_error "no kvm-unit-tests checkout given"
expect_error "$tmp/missing: no such folder" "$tmp/missing"
mkdir "$tmp/plain"
expect_error "is not a git checkout" "$tmp/plain"
expect_error "unknown option --bogus" --bogus
expect_error "not both" --clone "$tmp/plain"
expect_error "one checkout path only" "$tmp/plain" "$tmp/plain"

git -C "$tmp/plain" init -q
bash "$script" --dry-run --no-install --out "$tmp/out-dir" "$tmp/plain" >"$tmp/plan" 2>&1 || fail "--dry-run: $(cat "$tmp/plan")"
for line in 'does not hold commit 1da1819e49fc4938985edca67df669099b4c87a7' \
  './configure --arch=arm64 --cross-prefix=aarch64-linux-gnu-' \
  'make -j[0-9]* arm/selftest.flat arm/gic.flat arm/psci.flat' \
  './configure --arch=x86_64' 'make -j[0-9]* x86/intel-iommu.flat' \
  "cp .*/intel-iommu.flat $tmp/out-dir/x86/intel-iommu.flat"; do
  grep -q -- "$line" "$tmp/plan" || fail "the plan lacks '$line': $(cat "$tmp/plan")"
done
[[ ! -e $tmp/out-dir ]] || fail "--dry-run created the output folder"
echo "kvm-unit-tests-images.sh: arguments and plan as expected"
