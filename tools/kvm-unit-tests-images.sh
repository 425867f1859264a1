#!/usr/bin/env bash
# Builds the kvm-unit-tests images the test suite runs (tests/arm64/kvm_unit_tests_test.cpp,
# tests/x86/kvm_unit_tests_test.cpp, tests/tools/cache_invisible_test.cpp) from the pinned
# kvm-unit-tests commit, with the configure flags and compilers they were built with
# (recipe and reasons: tests/kvm-unit-tests/README.md):
#
#   OUT/arm64/selftest.flat OUT/arm64/gic.flat OUT/arm64/psci.flat   (gcc-aarch64-linux-gnu)
#   OUT/x86/intel-iommu.flat OUT/x86/umip.flat                       (the host's gcc, x86-64)
#
# then `export IRQREMAP_KVM_UNIT_TESTS=OUT` and the tests find them.
#
# Usage: tools/kvm-unit-tests-images.sh [--out DIR] [--no-install] [--dry-run] CHECKOUT
#        tools/kvm-unit-tests-images.sh [--out DIR] [--no-install] [--dry-run] --clone
#
# CHECKOUT is a git clone of kvm-unit-tests holding the pinned commit; it is not modified
# (the commit is extracted with `git archive` into a scratch folder per architecture).
# --clone clones the public repository into OUT/src first, which needs the network.
#
# Untested end to end: the machine this script was written on has neither the
# kvm-unit-tests source nor network access, so only its argument handling and its plan
# (--dry-run) are checked (tests/tools/kvm_unit_tests_images_args.sh). The recipe is the
# one the reference images were built with, as their provenance notes record it.
set -euo pipefail

readonly KUT_COMMIT=1da1819e49fc4938985edca67df669099b4c87a7
readonly KUT_URL=https://gitlab.com/kvm-unit-tests/kvm-unit-tests.git
readonly ARM64_IMAGES=(selftest gic psci)
readonly X86_IMAGES=(intel-iommu umip)

here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/build/kvm-unit-tests
install=1
dry_run=0
clone=0
checkout=""

usage() {
  cat <<EOF
Usage: $(basename "$0") [--out DIR] [--no-install] [--dry-run] CHECKOUT
       $(basename "$0") [--out DIR] [--no-install] [--dry-run] --clone

Builds the kvm-unit-tests images irqremap's tests run, from commit
$KUT_COMMIT:
  arm64: ${ARM64_IMAGES[*]} (.flat, cross-compiled with aarch64-linux-gnu-gcc)
  x86:   ${X86_IMAGES[*]} (.flat, the host's x86-64 gcc)
into DIR/arm64 and DIR/x86 (default: build/kvm-unit-tests). Then run the tests with
  IRQREMAP_KVM_UNIT_TESTS=DIR bash tools/test.sh

  CHECKOUT      a git clone of kvm-unit-tests that holds the commit (left untouched)
  --clone       clone $KUT_URL into DIR/src instead (needs the network)
  --out DIR     where the images go
  --no-install  do not apt-get install the cross compiler when it is missing
  --dry-run     check the arguments and print the commands, run nothing
  -h, --help    this text
EOF
}

die() {
  echo "kvm-unit-tests-images: $*" >&2
  exit 2
}

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --out) (($# >= 2)) || die "--out needs a folder"; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --no-install) install=0 ;;
    --dry-run) dry_run=1 ;;
    --clone) clone=1 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $checkout ]] || die "one checkout path only (see --help)"; checkout=$1 ;;
  esac
  shift
done

if ((clone)) && [[ -n $checkout ]]; then die "give a checkout path or --clone, not both"; fi
if ((!clone)) && [[ -z $checkout ]]; then
  die "no kvm-unit-tests checkout given: pass the path of a clone of $KUT_URL, or --clone (see --help)"
fi
[[ -n $out ]] || die "--out needs a folder"
if ((!dry_run)); then
  mkdir -p "$out" || die "cannot create the output folder $out"
  out=$(cd "$out" && pwd)
fi

run() {
  echo "+ $*"
  ((dry_run)) || "$@"
}

run_in() {  # DIR COMMAND...
  local dir=$1
  shift
  echo "+ (cd $dir && $*)"
  ((dry_run)) || (cd "$dir" && "$@")
}

if ((clone)); then
  checkout=$out/src
  if [[ ! -d $checkout/.git ]]; then
    if ((dry_run)); then
      echo "+ git clone $KUT_URL $checkout"
    elif ! git clone --quiet "$KUT_URL" "$checkout"; then
      die "could not clone $KUT_URL (no network here?). Clone it where the network is, copy the clone here and pass its path instead of --clone"
    fi
  fi
fi

if ((!clone || !dry_run)); then
  [[ -d $checkout ]] || die "$checkout: no such folder (expected a kvm-unit-tests checkout, see --help)"
  git -C "$checkout" rev-parse --git-dir >/dev/null 2>&1 || die "$checkout is not a git checkout (expected a clone of $KUT_URL)"
  if ! git -C "$checkout" cat-file -e "$KUT_COMMIT^{commit}" 2>/dev/null; then
    msg="$checkout does not hold commit $KUT_COMMIT: run 'git -C $checkout fetch origin' and try again"
    ((dry_run)) || die "$msg"
    echo "note: $msg"
  fi
fi

if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  if ((install)); then
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    run "${sudo[@]}" apt-get install -y gcc-aarch64-linux-gnu
  elif ((!dry_run)); then
    die "aarch64-linux-gnu-gcc is missing: apt-get install gcc-aarch64-linux-gnu (Debian 12 ships 12.2)"
  fi
fi
if [[ $(uname -m) != x86_64 ]] && ((!dry_run)); then
  die "the x86 image is built with the host's gcc, which must target x86-64 (this host is $(uname -m))"
fi

scratch=$out/scratch
# One extraction per architecture: kvm-unit-tests builds in its source tree.
build_arch() {  # ARCH_DIR CONFIGURE_ARGS PREFIX_MAP MAKE_DIR IMAGE...
  local arch=$1 conf=$2 map=$3 mdir=$4
  shift 4
  local src=$scratch/$arch targets=() img
  for img in "$@"; do targets+=("$mdir/$img.flat"); done
  run rm -rf "$src"
  run mkdir -p "$src" "$out/$arch"
  echo "+ git -C $checkout archive $KUT_COMMIT | tar -x -C $src"
  if ((!dry_run)); then git -C "$checkout" archive "$KUT_COMMIT" | tar -x -C "$src"; fi
  # shellcheck disable=SC2086  # $conf is a list of configure flags
  run_in "$src" ./configure $conf
  # CFLAGS from the environment: kvm-unit-tests' Makefile appends its own (CFLAGS +=).
  # The prefix map keeps the build folder out of the debug info, so the images do not
  # depend on where they were built.
  run_in "$src" env CFLAGS="-ffile-prefix-map=$src$map" make -j"$(nproc)" "${targets[@]}"
  for img in "$@"; do run cp "$src/$mdir/$img.flat" "$out/$arch/$img.flat"; done
}

build_arch arm64 "--arch=arm64 --cross-prefix=aarch64-linux-gnu-" "/=" arm "${ARM64_IMAGES[@]}"
build_arch x86 "--arch=x86_64" "=." x86 "${X86_IMAGES[@]}"
run rm -rf "$scratch"

echo "kvm-unit-tests images (commit $KUT_COMMIT) are in $out"
echo "run the tests with: IRQREMAP_KVM_UNIT_TESTS=$out bash tools/test.sh"
